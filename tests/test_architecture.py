"""The layers import downwards only: the court's rules know nothing of Rasa, Telegram, the web
or the desk; the edges (actions, bot, desk, web chat, Rasa's extensions) know nothing of each
other except through the court. Read from the source with ast, so a lazy import counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EDGES = {"actions", "bot", "desk", "webchat", "rasa_ext", "rasa_sdk_plugins"}
FRAMEWORKS = {"rasa", "rasa_sdk", "telegram", "flask", "flask_login", "flask_wtf", "sanic", "waitress"}
NEVER = {
    "court": EDGES | FRAMEWORKS | {"stack", "tools", "bench", "tests"},
    "actions": EDGES - {"actions"} | {"telegram", "flask", "sanic", "tools", "bench", "tests"},
    "desk": EDGES - {"desk"} | {"rasa", "rasa_sdk", "telegram", "sanic", "tools", "bench", "tests"},
    "bot": EDGES - {"bot"} | {"rasa", "rasa_sdk", "flask", "bench", "tests"},
    # The web chat is a second front end on the bot's channel-neutral relay (bot/relay.py).
    "webchat": EDGES - {"webchat", "bot"} | {"rasa", "rasa_sdk", "telegram", "flask", "bench", "tests"},
    "rasa_ext": EDGES - {"rasa_ext"} | {"telegram", "flask", "tools", "bench", "tests"},
    "rasa_sdk_plugins": EDGES - {"rasa_sdk_plugins"} | {"rasa", "telegram", "tools", "bench", "tests"},
}


def imported_tops(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("layer", sorted(NEVER))
def test_no_layer_imports_what_it_must_not_know(layer: str) -> None:
    crossings = [f"{path.relative_to(ROOT)} imports {', '.join(sorted(imported_tops(path) & NEVER[layer]))}"
                 for path in sorted((ROOT / layer).rglob("*.py")) if imported_tops(path) & NEVER[layer]]
    assert crossings == []


# Inside the court, packages import their own rank or below: the shared core, then the storage
# that owns the schema, then what the court knows before anyone writes (reference), then the
# records and workflows, then what reads across them (oversight, admin, seeding), then the
# facades the front ends call.
COURT_RANKS = {"core": 0, "store": 1, "reference": 2,
               "records": 3, "booking": 3, "messaging": 3, "mediation": 3, "hotline": 3,
               "oversight": 4, "admin": 4, "seeding": 4, "facades": 5}



def test_every_court_module_lives_in_a_ranked_package() -> None:
    assert sorted(p.name for p in (ROOT / "court").iterdir() if p.suffix == ".py" and p.name != "__init__.py") == []
    packages = {p.name for p in (ROOT / "court").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(COURT_RANKS)


@pytest.mark.parametrize("package", sorted(COURT_RANKS))
def test_court_packages_import_their_rank_or_below(package: str) -> None:
    rank = COURT_RANKS[package]
    upward = [f"{module} imports {target}" for module, targets in sorted(court_module_imports().items())
              if module.split(".")[1:2] == [package]
              for target in sorted(targets) if COURT_RANKS.get(target.split(".")[1], 99) > rank]
    assert upward == []


def test_only_the_launcher_and_the_dev_tools_start_the_stack() -> None:
    users = [str(path.relative_to(ROOT)) for layer in ("court", *sorted(EDGES), "tools")
             for path in sorted((ROOT / layer).rglob("*.py")) if "stack" in imported_tops(path)]
    assert users == []


def court_module_imports() -> dict[str, set[str]]:
    """Module name -> the court modules it imports (lazy imports included)."""
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
               for path in (ROOT / "court").rglob("*.py") if "migrations" not in path.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in modules:
                subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
                targets |= subs or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in modules}
        graph[name] = targets - {name}
    return graph


def test_no_court_module_imports_itself_round_a_circle() -> None:
    graph = court_module_imports()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert circles == []
