"""The front ends' message call to Rasa (aiohttp on the hot path): replies out, a failed
action or a refused secret is "unavailable", a refused connection is retried then given up,
a timeout is never retried (Rasa may have answered)."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from bot.rasa_client import RasaClient, RasaUnavailable


class FakeRasa(BaseHTTPRequestHandler):
    calls: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        FakeRasa.calls.append(body)
        if body["message"] == "slow":
            time.sleep(1.5)
        status = {"boom": 500, "secret": 401, "bad": 400}.get(body["message"], 200)
        data = json.dumps([{"recipient_id": body["sender"], "text": f"收到：{body['message']}"}]).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeRasa.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_replies_errors_and_retries(rasa_url: str) -> None:
    async def main() -> dict[str, object]:
        out: dict[str, object] = {}
        assistant = RasaClient(rasa_url, timeout=1)
        try:
            out["ok"] = await assistant.send("web-1", "你好", {"channel": "web"})
            for word in ("boom", "secret", "bad", "slow"):
                try:
                    await assistant.send("web-1", word)
                except RasaUnavailable as exc:
                    out[word] = str(exc)
        finally:
            await assistant.close()
        down = RasaClient("http://127.0.0.1:9", attempts=2)
        try:
            await down.send("web-1", "你好")
        except RasaUnavailable as exc:
            out["down"] = str(exc)
        finally:
            await down.close()
        return out

    out = asyncio.run(main())
    assert out["ok"] == [{"recipient_id": "web-1", "text": "收到：你好"}]
    assert FakeRasa.calls[0]["metadata"] == {"channel": "web"}
    assert "500" in str(out["boom"]) and "401" in str(out["secret"]) and "400" in str(out["bad"])
    assert "timeout" in str(out["slow"]) and [c["message"] for c in FakeRasa.calls].count("slow") == 1
    assert "down" in out
