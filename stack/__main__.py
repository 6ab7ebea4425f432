"""`python -m stack` (make run): start the action server, Rasa, the hotline desk and the web chat, then the
Telegram bot when TELEGRAM_BOT_TOKEN is set, else a local chat in the terminal.

Every child is supervised (stack/supervisor.py): a dead or hung one is restarted with
backoff; one that keeps failing raises a desk alert and ends the launcher with exit code 1.
"""
from __future__ import annotations

import _thread
import logging
import os
import signal
import sys
import threading

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bot.settings import BotSettings  # noqa: E402
from court.core.privacy import install_log_masking  # noqa: E402
from court.core.settings import database_url, private_files  # noqa: E402
from court.hotline import service_alerts  # noqa: E402
from court.store.db import Database  # noqa: E402
from stack.processes import Stack  # noqa: E402
from stack.train import ensure_model  # noqa: E402

log = logging.getLogger("launcher")


def _give_up(name: str, reason: str, restarts: int) -> None:
    """The desk hears of it (when the database is there), then the launcher ends."""
    print(f"\n{service_alerts.label(name)}（{name}）反复故障（{reason}），已停止自动重启。请查看 var/logs/{name}.log。",
          file=sys.stderr, flush=True)
    try:
        db = Database()
        with db.transaction() as session:
            service_alerts.service_down(session, name, reason, restarts)
        db.dispose()
    except Exception:  # noqa: BLE001 - the database may be what broke
        log.exception("could not record the alert for %s", name)
    _thread.interrupt_main()  # the console's input() or the wait below


def main() -> int:
    private_files()  # logs, secrets, spool and SQLite files under var/: owner-only
    install_log_masking()  # the launcher: its own lines and uncaught exceptions
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print("正在启动助手（首次需要训练模型，约几分钟）……", flush=True)
    model = ensure_model(quiet=True)
    with Stack(model, database_url=database_url()) as stack:
        web_port = int(os.environ.get("WEBCHAT_PORT", "8090"))
        public = os.environ.get("WEBCHAT_PUBLIC_URL") or f"http://127.0.0.1:{web_port}"
        desk = stack.start_desk(port=int(os.environ.get("DESK_PORT", "8080")), extra_env={"WEBCHAT_PUBLIC_URL": public})
        print(f"12368 热线工作台：{desk}（账号：.venv/bin/python -m court.admin.cli add-desk-user 用户名 --role agent --name 姓名）",
              flush=True)
        web = stack.start_webchat(port=web_port, extra_env={"WEBCHAT_PUBLIC_URL": public})
        print(f"居民网页聊天：{web}（手机浏览器或微信里打开；同一局域网的手机请经 HTTPS 反向代理访问）", flush=True)
        settings = BotSettings()
        if settings.token:
            stack.start_bot(token=settings.token, api_base=settings.api_base)
        supervisor = stack.supervise(on_give_up=_give_up)
        signal.signal(signal.SIGTERM, lambda *_: _thread.interrupt_main())  # stop the children too
        try:
            if settings.token:
                print(f"Telegram 机器人已启动（{settings.api_base}），Ctrl-C 结束。", flush=True)
                threading.Event().wait()
            else:
                from stack import console

                console.chat(stack)
        except KeyboardInterrupt:
            pass
        return 1 if supervisor.gave_up else 0


if __name__ == "__main__":
    sys.exit(main())
