"""The scaled-out stack on one machine: N Rasa servers and M action servers behind
HAProxy, Rasa's RedisLockStore in a Redis of its own, the court's database and
the trackers on PostgreSQL.

The same topology as deploy/ describes for a court's servers, started as child
processes for the tests (tests/e2e/test_scale.py) and the benchmarks
(`python -m bench.latency_bench --replicas 2`). Redis and HAProxy come from
Debian's packages (bin/scale-deps installs them). Every port is on 127.0.0.1;
Redis wants a password, HAProxy only forwards to the replicas, and each replica
still checks the JWT or the channel secret itself.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Optional

import requests

from stack.processes import BIN, LOOPBACK, Stack, free_port

SCALE_ENDPOINTS = "deploy/endpoints.scale.yml"


def haproxy_config(rasa_port: int, replicas: list[int], action_port: int, actions: list[int],
                   telegram_port: Optional[int] = None, bots: Optional[list[int]] = None) -> str:
    """Round robin over healthy replicas. A request whose connection is refused is sent
    to another replica (it never reached the first); one that did reach a replica is
    never sent twice: Rasa's turns and bookings are not idempotent. ``bots``: the Telegram
    front ends in webhook mode (TLS ends in front of this balancer in production)."""
    lines = ["global", "  maxconn 4096", "defaults", "  mode http", "  timeout connect 2s",
             "  timeout client 120s", "  timeout server 120s", "  retries 3", "  option redispatch",
             "  retry-on conn-failure", "",
             "frontend rasa", f"  bind {LOOPBACK}:{rasa_port}", "  default_backend rasa_replicas", "",
             "backend rasa_replicas", "  balance roundrobin", "  option httpchk GET /version"]
    lines += [f"  server rasa{i} {LOOPBACK}:{port} check inter 1s fall 2 rise 2" for i, port in enumerate(replicas)]
    lines += ["", "frontend actions", f"  bind {LOOPBACK}:{action_port}", "  default_backend action_servers", "",
              "backend action_servers", "  balance roundrobin", "  option httpchk GET /health"]
    lines += [f"  server actions{i} {LOOPBACK}:{port} check inter 1s fall 2 rise 2" for i, port in enumerate(actions)]
    if telegram_port and bots:
        # A TCP check: PTB's webhook server answers only POSTs on its path. Telegram sends an update
        # again until one front end answers 2xx, and the inbound journal drops a repeated update_id.
        # Its request lines name the front end that took each update (haproxy.log in the log folder).
        lines[1:1] = ["  log stdout format raw local0"]
        lines += ["", "frontend telegram", f"  bind {LOOPBACK}:{telegram_port}", "  log global", "  option httplog",
                  "  default_backend bots", "", "backend bots", "  balance roundrobin",
                  "  timeout server 10s"]  # a hung front end: Telegram sends the update again
        lines += [f"  server bot{i} {LOOPBACK}:{port} check inter 1s fall 2 rise 2" for i, port in enumerate(bots)]
    return "\n".join(lines) + "\n"


class Topology(Stack):
    """A Stack whose rasa_url and action endpoint are HAProxy's, in front of replicas."""

    def __init__(self, model: Path, *, database_url: str, rasa_replicas: int = 2, action_replicas: int = 2,
                 log_dir: Optional[Path] = None, extra_env: Optional[dict[str, str]] = None,
                 bot_replicas: int = 0) -> None:
        super().__init__(model, database_url=database_url, log_dir=log_dir, extra_env=extra_env)
        self.replica_ports = [free_port() for _ in range(rasa_replicas)]
        self.action_ports = [free_port() for _ in range(action_replicas)]
        self.bot_ports = [free_port() for _ in range(bot_replicas)]
        self.telegram_port = free_port() if bot_replicas else None
        self.webhook_secret = secrets.token_urlsafe(32)
        self.redis_port = free_port()
        self.redis_password = secrets.token_urlsafe(24)
        self.env |= {"REDIS_HOST": LOOPBACK, "REDIS_PORT": str(self.redis_port),
                     "REDIS_PASSWORD": self.redis_password}

    @property
    def replica_urls(self) -> list[str]:
        return [f"http://{LOOPBACK}:{port}" for port in self.replica_ports]

    def _private_file(self, name: str, text: str) -> Path:
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.log_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        return path

    def start_redis(self) -> None:
        # The password in a file, not on the command line (readable in /proc by every user).
        conf = self._private_file("redis.conf", f"bind {LOOPBACK}\nport {self.redis_port}\nrequirepass "
                                                f"{self.redis_password}\nsave \"\"\nappendonly no\n")
        # The real clock, as PostgreSQL's: Redis hangs at start under libfaketime (make test-dates).
        self._spawn("redis", [shutil.which("redis-server") or "redis-server", str(conf)], real_clock=True)

    def start(self, timeout: float = 240) -> "Topology":
        for port in self.action_ports:
            self._spawn(f"actions-{port}", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                            "--port", str(port)], {"SANIC_HOST": LOOPBACK})
        self.start_redis()
        cfg = self._private_file("haproxy.cfg", haproxy_config(self.rasa_port, self.replica_ports,
                                                               self.action_port, self.action_ports,
                                                               self.telegram_port, self.bot_ports))
        self._spawn("haproxy", [shutil.which("haproxy") or "haproxy", "-db", "-f", str(cfg)])
        for port in self.replica_ports:
            self._spawn_rasa(port, SCALE_ENDPOINTS, name=f"rasa-{port}")
        deadline = time.monotonic() + timeout
        try:
            for url in [f"{u}/status" for u in self.replica_urls] + [f"{self.rasa_url}/status"]:
                self.await_ok(url, deadline, "rasa", self.api_headers())
        except RuntimeError:
            self.stop()
            raise
        self._spawn("housekeeping", [sys.executable, "-m", "bot.housekeeping"],
                    {"RASA_URL": self.rasa_url} | self._housekeeping_heartbeat())
        return self

    @property
    def telegram_url(self) -> str:
        """Where the balancer takes Telegram's webhook POSTs (plain HTTP: TLS ends in front of it)."""
        return f"http://{LOOPBACK}:{self.telegram_port}"

    def start_bots(self, *, token: str, api_base: str, public_url: str, extra_env: Optional[dict[str, str]] = None,
                   heartbeat_age: float = 60) -> None:
        """The Telegram front ends in webhook mode, one process per bot port, behind the balancer;
        ``public_url`` is the HTTPS address Telegram is told (its path is kept through the balancer)."""
        for port in self.bot_ports:
            name = f"bot-{port}"
            env = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE": api_base, "RASA_URL": self.rasa_url,
                   "TELEGRAM_WEBHOOK_URL": public_url, "TELEGRAM_WEBHOOK_PORT": str(port),
                   "TELEGRAM_WEBHOOK_SECRET": self.webhook_secret} | self._heartbeat(name, heartbeat_age)
            self._spawn(name, [sys.executable, "-m", "bot.app"], env | (extra_env or {}))

    def kill_bot(self, index: int) -> None:
        """SIGKILL one front end; the balancer sends Telegram's next POSTs to the others."""
        self._remove(f"bot-{self.bot_ports[index]}")

    def kill_replica(self, index: int) -> None:
        """SIGKILL one Rasa replica, as a crash would; the others carry on."""
        self._remove(f"rasa-{self.replica_ports[index]}")

    def start_replica(self, index: int, timeout: float = 180) -> float:
        started = time.monotonic()
        self._spawn_rasa(self.replica_ports[index], SCALE_ENDPOINTS, name=f"rasa-{self.replica_ports[index]}")
        self.await_ok(f"{self.replica_urls[index]}/status", started + timeout, "rasa", self.api_headers())
        return time.monotonic() - started

    def say_to(self, index: int, sender: str, text: str, timeout: float = 60) -> list[dict]:
        """Straight to one replica, past the balancer."""
        response = requests.post(f"{self.replica_urls[index]}/webhooks/court/webhook",
                                 headers=self.channel_headers(),
                                 json={"sender": sender, "message": text, "metadata": {}}, timeout=timeout)
        response.raise_for_status()
        return response.json()
