"""Start and stop the action server, the Rasa server, the Telegram front end and
the hotline desk as child processes.

Used by `make run` (bin/run), the end-to-end tests and the benchmarks, so they
all run the same stack the same way.

Every internal port is bound to 127.0.0.1 and every door needs its secret
(court/core/internal_auth.py): the launcher hands each child the secrets it needs
through the environment, never the command line. Children create their files
owner-only (umask 077).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import requests

from court.core import internal_auth
from court.core.settings import PRIVATE_UMASK
from stack.supervisor import Supervisor
from stack.train import real_clock_env

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, model: Path, *, database_url: str, rasa_port: Optional[int] = None,
                 action_port: Optional[int] = None, log_dir: Optional[Path] = None,
                 extra_env: Optional[dict[str, str]] = None, secrets: Optional[dict[str, str]] = None) -> None:
        self.model = model
        self.rasa_port = rasa_port or free_port()
        self.action_port = action_port or free_port()
        self.log_dir = log_dir or ROOT / "var" / "logs"
        # Given (tests), else from the environment or var/secrets/, made there on first use (`make run`).
        self.secrets = secrets or internal_auth.stack_secrets()
        self.env = os.environ | self.secrets | {
            "RASA_TELEMETRY_ENABLED": "false",
            "DATABASE_URL": database_url,
            "ACTION_ENDPOINT_URL": f"http://{LOOPBACK}:{self.action_port}/webhook",
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        } | (extra_env or {})
        self.procs: list[subprocess.Popen] = []
        # By name, for the supervisor: how to start each child again and how to tell it is well.
        self._specs: dict[str, tuple[list[str], dict[str, str], bool]] = {}
        self._named: dict[str, subprocess.Popen] = {}
        self._probes: dict[str, tuple[str, Optional[dict[str, str]], float]] = {}
        # Children without a port touch a file on each pass of their loop (bot/heartbeat.py).
        self._heartbeats: dict[str, tuple[Path, float]] = {}
        self._beats_seen: dict[str, tuple[float, float]] = {}  # name -> (file mtime, monotonic when it changed)
        self._lock = threading.RLock()
        self.supervisor: Optional[Supervisor] = None

    @property
    def rasa_url(self) -> str:
        return f"http://{LOOPBACK}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{LOOPBACK}:{self.action_port}"

    def api_headers(self, caller: str = "stack") -> dict[str, str]:
        """What Rasa's HTTP API wants: a bearer JWT signed with this stack's secret."""
        return internal_auth.rasa_headers(caller, self.secrets)

    def channel_headers(self) -> dict[str, str]:
        return internal_auth.channel_headers(self.secrets)

    def _spawn(self, name: str, args: list[str], extra_env: Optional[dict[str, str]] = None,
               real_clock: bool = False) -> None:
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        log = os.fdopen(os.open(self.log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        env = self.env | (extra_env or {})
        if real_clock:  # out of `make test-dates`' faketime: see _spawn_rasa
            env = real_clock_env(env)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, umask=PRIVATE_UMASK)
        log.close()  # the child has its own copy
        with self._lock:
            self.procs.append(proc)
            self._specs[name] = (args, extra_env or {}, real_clock)
            self._named[name] = proc
        if self.supervisor is not None:
            self.supervisor.watch(name)

    def _heartbeat(self, name: str, max_age: float) -> dict[str, str]:
        """The environment that makes ``name`` beat; unhealthy when its file stops changing for
        ``max_age`` seconds (measured on the monotonic clock: faketime cannot fool it)."""
        path = self.log_dir / f"{name}.heartbeat"
        self._heartbeats[name] = (path, max_age)
        return {"COURT_HEARTBEAT_FILE": str(path)}

    def _probe(self, name: str, url: str, headers: Optional[dict[str, str]] = None, grace: float = 60) -> None:
        """How the supervisor tells ``name`` is well: ``url`` answers 2xx (after ``grace`` s to start)."""
        self._probes[name] = (url, headers, grace)

    # --- supervision (stack/supervisor.py) -----------------------------------------------

    def supervise(self, **options: object) -> Supervisor:
        """Watch every child from now on: restart the dead and the hung, give up after repeated failures."""
        self.supervisor = Supervisor(self, **options)  # type: ignore[arg-type]
        self.supervisor.start()
        return self.supervisor

    def supervised_names(self) -> list[str]:
        with self._lock:
            return list(self._named)

    def alive(self, name: str) -> Optional[int]:
        with self._lock:
            return self._named[name].poll()

    def healthy(self, name: str) -> bool:
        if name in self._heartbeats:
            return self._beating(name)
        probe = self._probes.get(name)
        if probe is None:
            return True  # no port to ask and no heartbeat: alive is well
        url, headers, _ = probe
        try:
            return requests.get(url, headers=headers or {}, timeout=2).ok
        except requests.RequestException:
            return False

    def _beating(self, name: str) -> bool:
        path, max_age = self._heartbeats[name]
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return False
        now = time.monotonic()
        seen = self._beats_seen.get(name)
        if seen is None or seen[0] != mtime:
            self._beats_seen[name] = (mtime, now)
            return True
        return now - seen[1] < max_age

    def start_grace(self, name: str) -> float:
        probe = self._probes.get(name)
        return probe[2] if probe else 30.0

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a child's whole process group (SIGKILL: a crash; SIGSTOP: a hang)."""
        with self._lock:
            proc = self._named.get(name)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def respawn(self, name: str) -> None:
        """Start a child again as it was first started (the old one killed if still there)."""
        self.kill(name)
        with self._lock:
            args, extra_env, real_clock = self._specs[name]
            old = self._named[name]  # stays until _spawn replaces it: readers never miss the name
            if old in self.procs:
                self.procs.remove(old)
        self._spawn(name, args, extra_env, real_clock)

    def start(self, timeout: float = 180) -> "Stack":
        # rasa_sdk binds to SANIC_HOST (its default is every interface); the token check is rasa_sdk_plugins.
        self._spawn("actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                "--port", str(self.action_port)], {"SANIC_HOST": LOOPBACK})
        self._probe("actions", f"{self.action_url}/health")
        self._spawn_rasa()
        deadline = time.monotonic() + timeout
        try:
            self.await_ok(f"{self.action_url}/health", deadline, "the action server")
            self.await_ok(f"{self.rasa_url}/status", deadline, "rasa", self.api_headers())
        except RuntimeError:
            self.stop()
            raise
        # Transcript erasures until Rasa confirms them, and the retention rules: never only in the bot.
        self._spawn("housekeeping", [sys.executable, "-m", "bot.housekeeping"],
                    {"RASA_URL": self.rasa_url} | self._housekeeping_heartbeat())
        return self

    def _housekeeping_heartbeat(self) -> dict[str, str]:
        # A pass may include the hourly retention sweep: allow several intervals.
        interval = float(self.env.get("HOUSEKEEPING_INTERVAL", 30))
        return self._heartbeat("housekeeping", max(120.0, 4 * interval))

    def _spawn_rasa(self, port: Optional[int] = None, endpoints: str = "endpoints.yml", name: str = "rasa") -> None:
        # Loading the model takes a while, longer on a busy machine.
        self._probe(name, f"http://{LOOPBACK}:{port or self.rasa_port}/status", self.api_headers(), grace=240)
        # rasa_ext.serve is Rasa's command line with the JWT secret added from the environment.
        # TensorFlow's thread pools hang under libfaketime, so when the tests move the wall clock
        # (make test-dates) Rasa keeps the real one; the court's processes read the court's clock.
        self._spawn(name, [sys.executable, "-m", "rasa_ext.serve", "run", "--enable-api", "--model", str(self.model),
                           "--port", str(port or self.rasa_port), "--endpoints", endpoints,
                           "--credentials", "credentials.yml", "--interface", LOOPBACK],
                    # One message is a handful of tiny matrix products: TensorFlow's thread pools
                    # cost more in hand-offs and spinning than they save. Scale with replicas.
                    {"TF_INTER_OP_PARALLELISM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1"},
                    real_clock=True)

    def restart_rasa(self, timeout: float = 180) -> float:
        """SIGKILL the Rasa server (a crash; the action server keeps running), start it
        again on the same port and wait for /status. Returns the seconds it took."""
        started = time.monotonic()
        self._remove("rasa")
        self._spawn_rasa()
        self.await_ok(f"{self.rasa_url}/status", started + timeout, "rasa", self.api_headers())
        return time.monotonic() - started

    def await_ok(self, url: str, deadline: float, what: str, headers: Optional[dict[str, str]] = None) -> None:
        """Poll ``url`` until it answers 2xx; a child that died or the deadline passing raise."""
        while True:
            self._check_alive()
            try:
                if requests.get(url, headers=headers or {}, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer at {url} in time; see {self.log_dir}")
            time.sleep(0.3)

    def _check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}; see {self.log_dir}")

    def say(self, sender: str, text: str, metadata: Optional[dict] = None, timeout: float = 30) -> list[dict]:
        response = requests.post(f"{self.rasa_url}/webhooks/court/webhook", headers=self.channel_headers(),
                                 json={"sender": sender, "message": text, "metadata": metadata or {}}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker", headers=self.api_headers(),
                                timeout=10)
        response.raise_for_status()
        return response.json()

    def start_bot(self, *, token: str, api_base: str, extra_env: Optional[dict[str, str]] = None,
                  heartbeat_age: float = 60) -> None:
        """The Telegram front end, relaying to this stack's Rasa server; it beats on each pass of
        its retry loop (BOT_RETRY_INTERVAL), so ``heartbeat_age`` silent seconds mean it hangs."""
        env = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE": api_base, "RASA_URL": self.rasa_url}
        env |= self._heartbeat("bot", heartbeat_age)
        self._spawn("bot", [sys.executable, "-m", "bot.app"], env | (extra_env or {}))

    def start_desk(self, *, port: Optional[int] = None, extra_env: Optional[dict[str, str]] = None,
                   timeout: float = 60) -> str:
        """The 12368 hotline desk (a web app) reading transcripts from this stack's Rasa; returns its URL."""
        port = port or free_port()
        self._spawn("desk", [sys.executable, "-m", "desk"],
                    {"DESK_PORT": str(port), "RASA_URL": self.rasa_url} | (extra_env or {}))
        url = f"http://{LOOPBACK}:{port}"
        self._probe("desk", f"{url}/healthz")
        self.await_ok(f"{url}/healthz", time.monotonic() + timeout, "desk")
        return url

    def start_webchat(self, *, port: Optional[int] = None, extra_env: Optional[dict[str, str]] = None,
                      timeout: float = 60) -> str:
        """The residents' web chat, relaying to this stack's Rasa server; returns its URL."""
        port = port or free_port()
        self._spawn("webchat", [sys.executable, "-m", "webchat"],
                    {"WEBCHAT_PORT": str(port), "RASA_URL": self.rasa_url} | (extra_env or {}))
        url = f"http://{LOOPBACK}:{port}"
        self._probe("webchat", f"{url}/healthz")
        self.await_ok(f"{url}/healthz", time.monotonic() + timeout, "web chat")
        return url

    def restart_housekeeping(self, extra_env: Optional[dict[str, str]] = None) -> None:
        """Stop the scheduled jobs and start them again with ``extra_env`` (a test changing a court setting)."""
        self.kill("housekeeping", signal.SIGTERM)
        self._remove("housekeeping")  # SIGKILL if it did not stop by itself
        self._spawn("housekeeping", [sys.executable, "-m", "bot.housekeeping"],
                    {"RASA_URL": self.rasa_url} | self._housekeeping_heartbeat() | (extra_env or {}))

    def kill_webchat(self) -> None:
        """SIGKILL the web chat server (a crash)."""
        self._remove("webchat")

    def kill_bot(self) -> None:
        """SIGKILL, no clean-up: what a crash or a pulled plug does."""
        self._remove("bot")

    def _remove(self, name: str) -> None:
        self.kill(name)
        with self._lock:
            proc = self._named.pop(name, None)
            if proc in self.procs:
                self.procs.remove(proc)

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor.join(timeout=10)
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
