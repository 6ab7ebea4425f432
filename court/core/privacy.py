"""Masking of personal information for logs and for staff who need less than all of it."""
from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from typing import Any, Callable, Optional

_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_RE = re.compile(r"(?<![\dXx])(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")
# Credentials that travel in URLs and headers: Rasa's ?token=, bearer JWTs, Telegram's /bot<token>/.
_SECRET_PARAM_RE = re.compile(r"(?i)\b(token|secret|password|jwt)=[^&\s'\"]+")
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_BOT_TOKEN_RE = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def mask_id_number(number: str | None) -> str:
    if not number:
        return ""
    return number[:6] + "*" * 8 + number[-4:]


def mask_text(text: str) -> str:
    """Mask phone and ID numbers wherever they appear in free text."""
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_log_text(text: str) -> str:
    """What a log line may keep: phones and ID numbers masked, credentials removed."""
    text = _SECRET_PARAM_RE.sub(lambda m: m.group(1) + "=***", text)
    text = _BEARER_RE.sub(lambda m: m.group(1) + " ***", text)
    text = _BOT_TOKEN_RE.sub("/bot***", text)
    return mask_text(text)


class MaskingFilter(logging.Filter):
    """Installed on handlers so no log line carries a full phone or ID number."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted line: message, exception and stack trace.

    Wraps another formatter (``inner``) to keep its layout, or formats itself."""

    def __init__(self, fmt: Optional[str] = None, datefmt: Optional[str] = None,
                 inner: Optional[logging.Formatter] = None) -> None:
        super().__init__(fmt, datefmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return mask_log_text(self.inner.format(record) if self.inner is not None else super().format(record))


def _mask_record(record: logging.LogRecord) -> None:
    """Mask a record where it is made, so every handler, whoever installed it, gets the masked one."""
    if getattr(record, "_court_masked", False):
        return
    record._court_masked = True
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: the handler reports it as usual
        return
    masked = mask_log_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Rendered here, masked, and cached where every Formatter looks first.
        record.exc_text = mask_log_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = mask_log_text(record.stack_info)


def _masking_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _mask_record(record)
        return record

    factory.court_masking = True  # type: ignore[attr-defined]  # a marker on the function: installed once
    return factory


def _masked_excepthook(hook: Callable[..., Any]) -> Callable[..., Any]:
    def excepthook(exc_type, exc, tb):
        # Uncaught: the stack's processes write stderr to their log files.
        sys.stderr.write(mask_log_text("".join(traceback.format_exception(exc_type, exc, tb))))

    excepthook.court_masking = True  # type: ignore[attr-defined]  # a marker on the function: installed once
    return excepthook


def _masked_thread_hook(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    sys.stderr.write(f"Exception in thread {getattr(args.thread, 'name', '?')}:\n")
    sys.stderr.write(mask_log_text("".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                                      args.exc_traceback))))


def _wrap_handlers(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if not isinstance(handler.formatter, MaskingFormatter):
            handler.setFormatter(MaskingFormatter(inner=handler.formatter or logging.Formatter()))
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


def install_log_masking(logger: Optional[logging.Logger] = None) -> None:
    """Mask personal data in everything this process logs; call it in every process, early.

    Three layers: a record factory (every record, whichever handler a library adds
    later), the formatters of the handlers present now (the formatted line, traces
    included), and the hooks that print uncaught exceptions. Safe to call again."""
    if not getattr(logging.getLogRecordFactory(), "court_masking", False):
        logging.setLogRecordFactory(_masking_factory(logging.getLogRecordFactory()))
    if not getattr(sys.excepthook, "court_masking", False):
        sys.excepthook = _masked_excepthook(sys.excepthook)
    threading.excepthook = _masked_thread_hook
    targets = [logger] if logger is not None else [logging.getLogger()] + [
        item for item in list(logging.Logger.manager.loggerDict.values()) if isinstance(item, logging.Logger)]
    for target in targets:
        _wrap_handlers(target)
    if logger is None and logging.lastResort is not None and not isinstance(logging.lastResort.formatter,
                                                                             MaskingFormatter):
        logging.lastResort.setFormatter(MaskingFormatter())
