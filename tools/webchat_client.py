"""A resident of the web chat over real HTTP (tests, benchmarks): the page's cookie and CSRF token, its JSON calls."""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable, Optional

import httpx

_CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


class WebResident:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.csrf = ""
        self.page = ""

    def open(self, path: str = "/") -> httpx.Response:
        response = self.http.get(path)
        if response.status_code == 303:
            response = self.http.get(response.headers["location"])
        self.page = response.text
        self.csrf = _CSRF.search(response.text).group(1)
        return response

    def post(self, path: str, body: dict, *, csrf: Optional[str] = None, headers: Optional[dict] = None
             ) -> httpx.Response:
        head = {"X-CSRF-Token": self.csrf if csrf is None else csrf, "Content-Type": "application/json"}
        return self.http.post(path, content=json.dumps(body), headers=head | (headers or {}))

    def start(self) -> list[dict]:
        response = self.post("/api/start", {})
        assert response.status_code == 200, response.text
        return response.json().get("messages", [])

    def say(self, text: str) -> list[dict]:
        response = self.post("/api/send", {"text": text})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def press(self, label: str) -> list[dict]:
        token = self.button(label)
        response = self.post("/api/press", {"token": token})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def state(self) -> dict[str, Any]:
        return self.http.get("/api/state").json()

    def messages(self) -> list[dict]:
        return self.state()["messages"]

    def button(self, label: str) -> str:
        for message in reversed(self.messages()):
            for button in message["buttons"]:
                if label in button["label"]:
                    return button["token"]
        raise AssertionError(f"no button {label!r}")

    def wait_for(self, needle: str, *, after: int = 0, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages():
                if message["id"] > after and needle in message["text"]:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no message with {needle!r}; last: {[m['text'][:40] for m in self.messages()[-4:]]}")

    def last_id(self) -> int:
        messages = self.messages()
        return messages[-1]["id"] if messages else 0


class EventStream:
    """The page's server-sent events, read in a thread."""

    def __init__(self, resident: WebResident, after: int = 0) -> None:
        self.events: list[dict] = []
        self.opened = threading.Event()
        self._stop = False
        self._client = httpx.Client(base_url=resident.base, cookies=resident.http.cookies,
                                    timeout=httpx.Timeout(30, read=None))
        self._thread = threading.Thread(target=self._read, args=(after,), daemon=True)
        self._thread.start()
        assert self.opened.wait(10)

    def _read(self, after: int) -> None:
        try:
            with self._client.stream("GET", f"/api/events?after={after}") as response:
                self.status = response.status_code
                self.opened.set()
                for line in response.iter_lines():
                    if self._stop:
                        return
                    if line.startswith("data: "):
                        self.events.append(json.loads(line[6:]))
        except httpx.HTTPError:  # the server went away or the test closed the stream
            self.opened.set()

    def wait(self, test: Callable[[dict], bool], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if test(event):
                    return event
            time.sleep(0.05)
        raise AssertionError("no such event")

    def close(self) -> None:
        self._stop = True
        self._client.close()
