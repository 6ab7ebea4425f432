import logging

import pytest

from court.core.errors import EmptyText, InvalidIdNumber, InvalidName, InvalidPhone, TextTooLong
from court.core.privacy import MaskingFilter, mask_id_number, mask_name, mask_phone, mask_text
from court.core.validation import clean_text, normalize_phone, validate_id_number, validate_name


@pytest.mark.parametrize("raw", ["13945612378", "139 4561 2378", "139-4561-2378", "+86 139 4561 2378",
                                 "８６１３９４５６１２３７８"[2:], "一三九四五六一二三七八", "幺三九四五六一二三七八"])
def test_phone_forms_normalise(raw):
    assert normalize_phone(raw) == "13945612378"


@pytest.mark.parametrize("raw", ["", "12345", "1394561237", "139456123789", "04568221234", "23945612378",
                                 "abc", "+1 415 555 2671", "12368"])
def test_invalid_phones_are_refused_in_chinese(raw):
    with pytest.raises(InvalidPhone) as err:
        normalize_phone(raw)
    assert "手机号" in err.value.message


def test_id_number_checksum():
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    for bad in ["110105194912310021", "11010519491331002X", "1101051949123100", "abc"]:
        with pytest.raises(InvalidIdNumber):
            validate_id_number(bad)


def test_text_cleaning_limits():
    assert clean_text("  楼上 \t 漏水\x00了  ") == "楼上 漏水了"
    with pytest.raises(EmptyText):
        clean_text("  \n ")
    with pytest.raises(TextTooLong) as err:
        clean_text("字" * 501)
    assert "500" in err.value.message


def test_names():
    assert validate_name("王桂芝") == "王桂芝"
    assert validate_name("阿依古丽·买买提") == "阿依古丽·买买提"
    for bad in ["王", "13945612378", "<script>", "王" * 21]:
        with pytest.raises((InvalidName, TextTooLong)):
            validate_name(bad)


def test_masking():
    assert mask_phone("13945612378") == "139****2378"
    assert mask_name("王桂芝") == "王**"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_text("电话13945612378，身份证11010519491231002X") == "电话139****2378，身份证110105********002X"


def test_log_filter_masks_personal_numbers(caplog):
    logger = logging.getLogger("court.test.masking")
    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="court.test.masking"):
        logger.info("resident %s booked", "13945612378")
    assert "13945612378" not in caplog.text
    assert "139****2378" in caplog.text
