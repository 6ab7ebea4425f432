"""`python -m bot`: start the action server, Rasa, the hotline desk and the web chat, then the
Telegram bot when TELEGRAM_BOT_TOKEN is set, else a local chat in the terminal."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bot.settings import BotSettings  # noqa: E402
from court.privacy import install_log_masking  # noqa: E402
from court.settings import database_url, private_files  # noqa: E402
from tools.stack import Stack  # noqa: E402
from tools.train import ensure_model  # noqa: E402


def main() -> int:
    private_files()  # logs, secrets, spool and SQLite files under var/: owner-only
    install_log_masking()  # the launcher: its own lines and uncaught exceptions
    print("正在启动助手（首次需要训练模型，约几分钟）……", flush=True)
    model = ensure_model(quiet=True)
    with Stack(model, database_url=database_url()) as stack:
        web_port = int(os.environ.get("WEBCHAT_PORT", "8090"))
        public = os.environ.get("WEBCHAT_PUBLIC_URL") or f"http://127.0.0.1:{web_port}"
        desk = stack.start_desk(port=int(os.environ.get("DESK_PORT", "8080")), extra_env={"WEBCHAT_PUBLIC_URL": public})
        print(f"12368 热线工作台：{desk}（账号：.venv/bin/python -m court.cli add-desk-user 用户名 --role agent --name 姓名）",
              flush=True)
        web = stack.start_webchat(port=web_port, extra_env={"WEBCHAT_PUBLIC_URL": public})
        print(f"居民网页聊天：{web}（手机浏览器或微信里打开；同一局域网的手机请经 HTTPS 反向代理访问）", flush=True)
        if BotSettings().token:
            from bot import app

            os.environ["RASA_URL"] = stack.rasa_url
            print(f"Telegram 机器人已启动（{BotSettings().api_base}），Ctrl-C 结束。", flush=True)
            return app.main()
        from bot import console

        return console.chat(stack)


if __name__ == "__main__":
    sys.exit(main())
