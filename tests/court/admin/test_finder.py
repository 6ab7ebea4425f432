"""Finding a mediator by case reference, by part of a name or code, or by service point."""
from __future__ import annotations

import datetime as dt

import pytest

from court import admin
from court.booking import engine
from court.core.errors import ValidationError
from court.store.schema import Mediator
from tests.factories import NOW, new_case, shared_slot

WEDNESDAY = dt.date(2026, 12, 2)


def test_by_case_reference_the_mediator_who_has_it_and_the_one_who_had_it(db):
    with db.transaction() as s:
        sp, start = shared_slot(s, WEDNESDAY)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="test", now=NOW)
        first, reference = appt.mediator_id, appt.case.reference
        second = engine.decline(s, appt.id, mediator_id=first, now=NOW).reassigned.mediator_id
    with db.reader() as s:
        for typed in (reference, reference.lower(), f" {reference.replace('-', '－')} ", reference.replace("-", "")):
            found = admin.find_mediators(s, typed, now=NOW)
            assert [(f.row.id, f.matched) for f in found] == [
                (second, f"案件 {reference}（现在负责）"), (first, f"案件 {reference}（曾经负责）")], typed
        assert admin.find_mediators(s, "HH991231-2222", now=NOW) == []


def test_by_part_of_a_chinese_name_by_code_and_by_service_point_phones_masked(db):
    with db.reader() as s:
        mediator = s.query(Mediator).order_by(Mediator.id).first()
        point = sorted(mediator.service_points, key=lambda p: p.id)[0]
        surname, code, phone = mediator.name[:1], mediator.code, mediator.phone
        found = admin.find_mediators(s, mediator.name[1:], now=NOW)
        assert mediator.id in [f.row.id for f in found]
        assert all(mediator.name[1:] in f.row.name for f in found)
        by_surname = admin.find_mediators(s, surname, now=NOW)
        assert by_surname and all(f.matched.startswith(("姓名", "服务点")) for f in by_surname)
        assert [f.row.id for f in admin.find_mediators(s, code.lower(), now=NOW)] == [mediator.id]
        at_point = admin.find_mediators(s, point.name, now=NOW)
        assert {f.row.id for f in at_point} >= {m.id for m in point.mediators}
        assert any(f.matched == f"服务点 {point.name}" for f in at_point)
        assert all(phone not in f.row.phone_masked and "****" in f.row.phone_masked for f in found)
        assert admin.find_mediators(s, "%", now=NOW) == []  # a wildcard is a character, not "everyone"


@pytest.mark.parametrize("query", ["", "   ", "调" * 41])
def test_an_empty_or_overlong_query_is_refused(db, query):
    with db.reader() as s, pytest.raises(ValidationError):
        admin.find_mediators(s, query, now=NOW)


def test_the_cli_finds_by_reference_name_and_point_with_masked_phones(db, monkeypatch, capsys):
    from court.admin import cli

    with db.transaction() as s:
        sp, start = shared_slot(s, WEDNESDAY)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="test", now=NOW)
        reference, owner = appt.case.reference, appt.mediator
        name, code, phone, point_name = owner.name, owner.code, owner.phone, sp.name
    monkeypatch.setenv("DATABASE_URL", db.url)

    def run(*args: str) -> tuple[int, str, str]:
        rc = cli.main(["find-mediator", *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    rc, out, _ = run(reference.lower())
    assert rc == 0 and f"{code}\t{name}" in out and f"案件 {reference}（现在负责）" in out and "共1位" in out
    assert phone not in out and phone[:3] + "****" + phone[-4:] in out
    rc, out, _ = run(name[1:])
    assert rc == 0 and code in out and phone not in out
    rc, out, _ = run(point_name[:3])
    assert rc == 0 and f"服务点 {point_name}" in out
    assert run("HH991231-2222")[1].startswith("没有找到")
    rc, _, err = run(" ")
    assert rc == 1 and "请输入" in err
