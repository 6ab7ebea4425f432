"""The relay when the assistant answers with nothing: the resident hears a fallback,
unless a 12368 agent holds the conversation. Real HTTP on both sides: the fake Bot API,
and a small server speaking the two Rasa endpoints the relay uses."""
from __future__ import annotations

import asyncio
import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.rasa_client import RasaClient
from bot.relay import UNANSWERED, Relay
from court.facades.messenger import MessengerFacade
from court.hotline import handoffs
from court.store.db import Database
from court.store.schema import InboundMessage
from tools.fake_telegram.driver import FakeTelegram

TOKEN = "123456:TEST-token"


class SilentRasa(BaseHTTPRequestHandler):
    """Answers every message with no reply; says whether the conversation is paused."""

    paused: dict[str, bool] = {}

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._json([])

    def do_GET(self) -> None:  # noqa: N802
        sender = self.path.split("/conversations/", 1)[1].split("/", 1)[0]
        if sender == "tg-7003":  # the tracker cannot be read
            self.send_error(500)
            return
        self._json({"sender_id": sender, "paused": self.paused.get(sender, False)})

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SilentRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_silence_gets_a_fallback_but_a_chat_the_court_holds_stays_quiet(db, rasa_url, tmp_path: Path) -> None:
    """The court's handoff decides, not Rasa's flag: a chat Rasa still calls paused after its
    handoff ended would otherwise never hear from anyone again."""
    SilentRasa.paused = {"tg-7002": True, "tg-7003": True}
    with db.transaction() as s:
        handoffs.request(s, "tg-7002", reason="request_human")
        done, _ = handoffs.request(s, "tg-7003", reason="request_human")
        done.status = "closed"
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot") as tg:
        talking, held, stale = tg.user(7001), tg.user(7002), tg.user(7003)

        async def main() -> None:
            assistant = RasaClient(rasa_url)
            relay = Relay(MessengerFacade(db), assistant, tmp_path / "spool.jsonl")
            async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
                for update_id, chat in ((1, 7001), (2, 7002), (3, 7003)):
                    await relay.submit(bot, {}, chat_id=chat, update_id=update_id, text="嗯嗯", meta={})
            await assistant.close()

        asyncio.run(main())
        assert talking.texts() == [UNANSWERED] and "转人工" in UNANSWERED
        assert held.texts() == []  # waiting for an agent: the court's channel acknowledged it once already
        assert stale.texts() == [UNANSWERED]
        tg.assert_clean()


def test_the_spool_is_owner_only_sealed_and_forgets_an_erased_chat(db, tmp_path: Path) -> None:
    """The database is down: messages wait on disk, unreadable to others and encrypted;
    an erasure drops the chat's; the rest reach the journal when the database is back."""
    down = MessengerFacade(Database("postgresql+psycopg2://court@127.0.0.1:9/none"))
    spool = tmp_path / "var" / "inbound-spool.jsonl"
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot") as tg:
        tg.user(7101), tg.user(7102)

        async def main() -> Relay:
            assistant = RasaClient("http://127.0.0.1:9")
            relay = Relay(down, assistant, spool)
            async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
                await relay.submit(bot, {}, chat_id=7101, update_id=11, text="我的电话13945612378",
                                   meta={"contact_phone": "13945612378", "start_payload": "deep-link-token"})
                await relay.submit(bot, {}, chat_id=7102, update_id=12, text="楼上漏水", meta={})
            await assistant.close()
            return relay

        relay = asyncio.run(main())
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    raw = spool.read_text(encoding="utf-8")
    assert len(raw.splitlines()) == 2
    assert not [word for word in ("13945612378", "电话", "deep-link-token", "楼上漏水") if word in raw]
    assert relay.forget(7101) == 1
    relay.desk = MessengerFacade(db)
    relay._drain_spool()
    assert not spool.exists()
    with db.reader() as s:
        rows = s.execute(select(InboundMessage.chat_id, InboundMessage.text)).all()
    assert rows == [(7102, "楼上漏水")]


def test_danger_gets_the_emergency_advice_even_when_the_assistant_or_the_database_is_down(db, tmp_path: Path) -> None:
    """Nothing stands between a resident in danger and 110: not Rasa down, not the database down;
    the advice goes out once per message, not once per retry."""
    from bot.relay import APOLOGY

    danger = "他拿着刀说要砍我，我躲在屋里"
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot") as tg:
        rasa_down, db_down = tg.user(7201), tg.user(7202)

        async def main() -> None:
            assistant = RasaClient("http://127.0.0.1:9")  # nothing listens there
            relay = Relay(MessengerFacade(db), assistant, tmp_path / "spool.jsonl")
            spooling = Relay(MessengerFacade(Database("postgresql+psycopg2://court@127.0.0.1:9/none")), assistant,
                             tmp_path / "spool2.jsonl")
            async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
                await relay.submit(bot, {}, chat_id=7201, update_id=21, text=danger, meta={})
                await relay.flush(bot, 7201, {})  # a retry while the assistant is still down
                await spooling.submit(bot, {}, chat_id=7202, update_id=22, text=danger, meta={})
            await assistant.close()

        asyncio.run(main())
    for user in (rasa_down, db_down):
        said = user.texts()
        assert len(said) == 2 and "110" in said[0] and said[1] == APOLOGY, said
