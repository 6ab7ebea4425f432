"""The sequential graph runner answers as Rasa's dask runner does."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Text

import pytest
import rasa.core.processor
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from rasa_ext import graph_runner
from rasa_ext.graph_runner import SequentialGraphRunner

CALLS: list[str] = []


class Component(GraphComponent):
    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "Component":
        return cls(config)

    def const(self) -> Any:
        CALLS.append(self.config["name"])
        return self.config["value"]

    def add(self, a: Any, b: Any) -> Any:
        CALLS.append(self.config["name"])
        return a + b

    def fail(self, a: Any) -> Any:
        raise self.config["error"]


def node(fn: str, needs: Dict[str, str], **config: Any) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Component, constructor_name="create", fn=fn, config=config, eager=True)


SCHEMA = GraphSchema({
    "one": node("const", {}, name="one", value=1),
    "two": node("const", {}, name="two", value=2),
    "sum": node("add", {"a": "one", "b": "two"}, name="sum"),
    "twice": node("add", {"a": "sum", "b": "sum"}, name="twice"),
    "plus_input": node("add", {"a": "__x__", "b": "twice"}, name="plus_input"),
    "unused": node("const", {}, name="unused", value=99),
    "broken": node("fail", {"a": "one"}, name="broken", error=ValueError("no")),
    "runtime": node("fail", {"a": "one"}, name="runtime", error=RuntimeError("no")),
})


def runners(tmp_path: Path) -> tuple[DaskGraphRunner, SequentialGraphRunner]:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(SCHEMA, "test")
    return (DaskGraphRunner(SCHEMA, storage, context), SequentialGraphRunner(SCHEMA, storage, context))


@pytest.mark.parametrize("targets", [["twice"], ["sum", "twice"], ["plus_input"], ["one"], ["plus_input", "sum"]])
def test_same_outputs_and_only_the_needed_nodes_run(tmp_path: Path, targets: list[str]) -> None:
    dask, sequential = runners(tmp_path)
    inputs = {"__x__": 10} if "plus_input" in targets else None
    for _ in range(2):  # the second run uses the plan worked out by the first
        CALLS.clear()
        expected = dask.run(inputs, targets)
        dask_calls = sorted(CALLS)
        CALLS.clear()
        assert sequential.run(inputs, targets) == expected
        assert sorted(CALLS) == dask_calls and "unused" not in CALLS


def test_errors_are_rasas(tmp_path: Path) -> None:
    dask, sequential = runners(tmp_path)
    for runner in (dask, sequential):
        with pytest.raises(GraphComponentException) as raised:
            runner.run(targets=["broken"])
        assert isinstance(raised.value.__cause__, ValueError)
        with pytest.raises(GraphComponentException):
            runner.run(targets=["runtime"])
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            runner.run({"__x__": "sum"}, targets=["plus_input"])
        # Only the nodes the targets need count as a clash, as in Rasa.
        assert runner.run({"__x__": "unused "}, targets=["twice"]) == {"twice": 6}


def test_install_makes_the_processor_load_models_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", DaskGraphRunner)
    graph_runner.install()
    assert rasa.core.processor.DaskGraphRunner is SequentialGraphRunner
