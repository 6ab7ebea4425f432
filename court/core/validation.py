"""Validation at the boundary: everything a resident types passes through here."""
from __future__ import annotations

import re
import unicodedata

import phonenumbers
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from court.core.errors import EmptyText, InvalidIdNumber, InvalidName, InvalidPhone, TextTooLong

SUMMARY_LIMIT = 500
NOTE_LIMIT = 200
MESSAGE_LIMIT = 2000

_CN_DIGITS = str.maketrans("〇零一二三四五六七八九幺两", "0012345678912")
_NAME_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z·•\s]{2,20}$")


def clean_text(raw: object, *, limit: int = SUMMARY_LIMIT, field: str = "内容", fold_width: bool = True) -> str:
    """Trim, fold width (unless the text is shown to people as written) and whitespace, drop control characters."""
    text = unicodedata.normalize("NFKC", str(raw or "")) if fold_width else str(raw or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t]+", " ", text).strip()
    if not text:
        raise EmptyText()
    if len(text) > limit:
        raise TextTooLong(limit, field)
    return text


def normalize_phone(raw: object) -> str:
    """A valid mainland mobile number as 11 digits, or InvalidPhone.

    Accepts spaces, dashes, +86 and numbers spoken in Chinese digits.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).translate(_CN_DIGITS)
    digits = re.sub(r"[\s\-()（）.]", "", text)
    if not re.fullmatch(r"\+?\d{6,16}", digits):
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    mobile_types = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile_types
    ):
        raise InvalidPhone()
    return str(number.national_number)


def validate_id_number(raw: object) -> str:
    """An 18-digit resident identity number with a valid checksum and birth date."""
    text = unicodedata.normalize("NFKC", str(raw or "")).replace(" ", "").upper()
    if len(text) != 18:
        raise InvalidIdNumber()
    try:
        return ric.validate(text)
    except StdnumError as exc:
        raise InvalidIdNumber() from exc


def validate_name(raw: object) -> str:
    text = clean_text(raw, limit=20, field="姓名")
    if not _NAME_RE.match(text):
        raise InvalidName()
    return text
