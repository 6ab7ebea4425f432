"""The supervisor with real child processes: a crash and a hang are restarted, and a
child that keeps dying is given up on loudly instead of restarted forever."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
import requests

from stack.processes import Stack, free_port

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]
FAST = {"interval": 0.2, "misses": 2, "backoff": 0.1, "max_backoff": 0.5}


@pytest.fixture
def stack(tmp_path: Path):  # type: ignore[no-untyped-def]
    running = Stack(tmp_path / "no-model.tar.gz", database_url=f"sqlite:///{tmp_path / 'court.db'}",
                    log_dir=tmp_path / "logs", secrets={})
    yield running
    running.stop()


def wait_until(check, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def serve_http(stack: Stack, name: str) -> str:
    port = free_port()
    stack._spawn(name, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    url = f"http://127.0.0.1:{port}/"
    stack._probe(name, url, grace=20)
    assert wait_until(lambda: stack.healthy(name))
    return url


def test_a_killed_child_is_started_again_and_its_recovery_timed(stack: Stack) -> None:
    stack._spawn("sleeper", SLEEPER)
    first = stack._named["sleeper"].pid
    supervisor = stack.supervise(**FAST)
    stack.kill("sleeper")
    assert wait_until(lambda: stack._named["sleeper"].pid != first and stack.alive("sleeper") is None)
    assert wait_until(lambda: supervisor.recoveries)
    recovery = supervisor.recoveries[0]
    assert recovery.name == "sleeper" and recovery.reason == "exited with -9"
    assert 0 < recovery.seconds < 5
    assert len([p for p in stack.procs if p.poll() is None]) == 1  # the old one is gone, not leaked


def test_a_hung_child_fails_its_health_check_and_is_replaced(stack: Stack) -> None:
    url = serve_http(stack, "web")
    hung = stack._named["web"]
    supervisor = stack.supervise(**FAST)
    assert wait_until(lambda: supervisor.up("web"))
    stack.kill("web", signal.SIGSTOP)  # alive, but answers nothing
    with pytest.raises(requests.RequestException):
        requests.get(url, timeout=0.5)
    assert wait_until(lambda: any(r.name == "web" for r in supervisor.recoveries), timeout=30)
    assert hung.poll() is not None  # SIGKILLed, not left stopped
    assert requests.get(url, timeout=2).ok
    assert "health check failed" in supervisor.recoveries[0].reason


def test_a_child_that_never_answers_its_probe_is_restarted_after_its_grace(stack: Stack) -> None:
    stack._spawn("mute", SLEEPER)
    stack._probe("mute", f"http://127.0.0.1:{free_port()}/", grace=0.5)
    first = stack._named["mute"].pid
    stack.supervise(**FAST)
    assert wait_until(lambda: stack._named["mute"].pid != first)


def test_a_child_that_keeps_dying_is_given_up_on_with_an_alert(stack: Stack) -> None:
    stack._spawn("crasher", CRASHER)
    told: list[tuple[str, str, int]] = []
    supervisor = stack.supervise(**FAST, max_restarts=3, window=60, on_give_up=lambda *a: told.append(a))
    assert wait_until(lambda: supervisor.gave_up is not None)
    assert told == [("crasher", "exited with 3", 3)]
    supervisor.join(timeout=5)
    assert not supervisor.is_alive()  # no more restarts after giving up
    restarted = stack._named["crasher"].pid
    time.sleep(0.5)
    assert stack._named["crasher"].pid == restarted


def test_backoff_grows_between_restarts(stack: Stack) -> None:
    stack._spawn("crasher", CRASHER)
    supervisor = stack.supervise(interval=0.05, misses=1, backoff=0.2, max_backoff=5, max_restarts=4, window=60)
    starts: list[float] = []
    last = None
    deadline = time.monotonic() + 20
    while supervisor.gave_up is None and time.monotonic() < deadline:
        pid = stack._named["crasher"].pid
        if pid != last:
            starts.append(time.monotonic())
            last = pid
        time.sleep(0.01)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(gaps) == 4, gaps
    assert gaps[-1] > gaps[0] * 3  # 0.2, 0.4, 0.8, 1.6 s plus the checks


def test_the_production_health_check_names_a_silent_unit(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    from stack import healthcheck

    url = serve_http(stack, "web")
    assert healthcheck.main([f"court-web.service={url}", "--dry-run"]) == 0
    stack.kill("web", signal.SIGSTOP)
    silent = f"http://127.0.0.1:{free_port()}/"
    assert healthcheck.main([f"court-web.service={url}", f"court-gone.service={silent}", "--dry-run"]) == 1
    killed = [r.getMessage() for r in caplog.records if "killing it" in r.getMessage()]
    assert len(killed) == 2 and killed[0].startswith("court-web.service")


def test_a_child_whose_heartbeat_stops_is_replaced(stack: Stack) -> None:
    # The bot and housekeeping have no port: their loop touches a file (bot/heartbeat.py).
    beater = "import time\nfrom bot.heartbeat import beat\nwhile True:\n    beat()\n    time.sleep(0.1)\n"
    stack._spawn("beater", [sys.executable, "-c", beater], stack._heartbeat("beater", max_age=1.0))
    hung = stack._named["beater"]
    supervisor = stack.supervise(**FAST)
    assert wait_until(lambda: supervisor.up("beater"))
    stack.kill("beater", signal.SIGSTOP)
    assert wait_until(lambda: any(r.name == "beater" for r in supervisor.recoveries), timeout=30)
    assert hung.poll() is not None and stack.alive("beater") is None
    assert "health check failed" in supervisor.recoveries[0].reason
