"""Run the prediction graph's nodes in order, without building a dask graph per call.

Rasa 3.6 answers every message with two graph runs (NLU, then the policies once per
predicted action), each through `DaskGraphRunner.run`: it works out the minimal schema
for the targets again (a recursive walk without memo), builds a dask task graph, and
lets dask's synchronous scheduler order and run it. About 7 % of the Rasa server's
CPU per message goes to that bookkeeping, for graphs that never change after loading.

`SequentialGraphRunner` keeps the nodes Rasa instantiated and runs them in a
topological order worked out once per set of targets, passing each node the
`(name, output)` pairs of its inputs exactly as the dask runner does; the result, the
errors (`GraphRunError` for a RuntimeError, a node's own exception otherwise) and the
input-name clash check are Rasa's. Nodes that do not depend on each other (the
policies) may run in another order than dask's; none of them changes another's
inputs. Training keeps Rasa's dask runner.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

import rasa.core.processor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

logger = logging.getLogger(__name__)


class SequentialGraphRunner(DaskGraphRunner):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[Text, ...], List[Tuple[Text, Tuple[Text, ...]]]] = {}

    def _plan(self, targets: Tuple[Text, ...]) -> List[Tuple[Text, Tuple[Text, ...]]]:
        """The nodes the targets need, each after its inputs, with the names of their inputs."""
        plan = self._plans.get(targets)
        if plan is not None:
            return plan
        nodes = self._graph_schema.nodes
        order: List[Tuple[Text, Tuple[Text, ...]]] = []
        seen: set = set()

        def visit(name: Text, path: Tuple[Text, ...]) -> None:
            if name in seen or name not in nodes:  # not a node: an input placeholder
                return
            if name in path:
                raise GraphRunError(f"The graph has a cycle through '{name}'.")
            needs = tuple(nodes[name].needs.values())
            for need in needs:
                visit(need, path + (name,))
            seen.add(name)
            order.append((name, needs))

        for target in targets:
            visit(target, ())
        self._plans[targets] = order
        return order

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        plan = self._plan(tuple(run_targets))
        results: Dict[Text, Any] = {}
        for input_name, input_value in (inputs or {}).items():
            # As Rasa's check: the minimal schema's nodes and the inputs added before this one.
            if isinstance(input_value, str) and (input_value in results
                                                 or any(input_value == name for name, _ in plan)):
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema.")
            results[input_name] = (input_name, input_value)
        try:
            for name, needs in plan:
                results[name] = self._instantiated_nodes[name](*(results[need] for need in needs))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(results[target] for target in run_targets)


def install() -> None:
    """The Rasa server's message processor loads its model with this runner."""
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]
