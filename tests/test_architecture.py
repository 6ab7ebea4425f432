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
    "court": EDGES | FRAMEWORKS | {"tools", "bench", "tests"},
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
