"""A local fake of the Telegram Bot API (real HTTP, Telegram's JSON and errors) and a
driver that acts as Telegram users; see driver.py for the API and server.py for the rules."""
from tools.fake_telegram.driver import FakeTelegram, FakeUser
from tools.fake_telegram.params import ApiError
from tools.fake_telegram.shapes import ShapeError, validate

__all__ = ["ApiError", "FakeTelegram", "FakeUser", "ShapeError", "validate"]
