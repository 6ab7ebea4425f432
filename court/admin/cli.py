"""court-admin: the clerk's command line for the court database.

    python -m court.admin.cli migrate            # create or upgrade the schema
    python -m court.admin.cli seed [--no-demo]   # load Heihe's places, courts, demo roster
    python -m court.admin.cli load-roster FILE   # load the court's own service points and mediators
    python -m court.admin.cli load-calendar FILE # a year's holidays and adjusted working days (YAML)
    python -m court.admin.cli calendar           # which years the court's calendar has published
    python -m court.admin.cli status             # what the database holds
    python -m court.admin.cli issue-link-code M-231102101-1 [--hours 72]   # a mediator's Telegram link code
    python -m court.admin.cli list-mediators [--point SP-231102101]       # who is linked to Telegram
    python -m court.admin.cli find-mediator HH261129-7K3Q | 王 | 西岗子     # by case reference, name or service point
    DESK_PASSWORD=... python -m court.admin.cli add-desk-user li.min --role agent --name 李敏   # a 12368 desk account
    python -m court.admin.cli add-organisation 西岗子镇人民政府 --kind township --place 西岗子镇   # 接诉即办
    DESK_PASSWORD=... python -m court.admin.cli add-desk-user xgz.zhb --role partner --organisation 西岗子镇人民政府 --name 西岗子镇综治办
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from pathlib import Path

from sqlalchemy import func, select

from court import admin as management
from court.core import clock, settings
from court.core.errors import CourtError, NotFound, ValidationError
from court.core.timeutil import to_local
from court.hotline import accounts, service_alerts, support_requests
from court.mediation import linking
from court.records import workcalendar
from court.reference import labels
from court.seeding.calendar import load_year_file
from court.seeding.roster import load_roster_file
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import (
    Appointment,
    Case,
    DeskRole,
    Mediator,
    MediatorStatus,
    OrganisationKind,
    Place,
    ServicePoint,
)

MAX_LINK_HOURS = 24 * 30
_STATUS_NOTE = {status: f"（{labels.MEDIATOR_STATUS[status]}）"
                for status in (MediatorStatus.SUSPENDED.value, MediatorStatus.RETIRED.value)}


def _add_organisation(db: Database, name: str, kind: str, place_name: str | None) -> None:
    with db.transaction() as session:
        place_id = None
        if place_name:
            found = session.execute(select(Place.id).where(Place.name == place_name.strip())).scalars().all()
            if len(found) != 1:
                raise ValidationError(f"没有找到唯一的“{place_name}”，请写完整的乡镇或街道名称（如 西岗子镇）。")
            place_id = found[0]
        org = support_requests.create_organisation(session, name, kind, place_id=place_id, actor="clerk:cli",
                                                   now=clock.now())
        print(f"已登记合作单位 {org.name}（{support_requests.ORGANISATION_KIND_LABELS[org.kind]}）")


def _add_desk_user(db: Database, username: str, role: str, name: str, organisation: str | None = None) -> None:
    # Never from argv: command lines end up in shell history and process lists.
    password = os.environ.get("DESK_PASSWORD")
    if not password:
        password = getpass.getpass("密码（至少10个字符）：")
        if getpass.getpass("再输入一次密码：") != password:  # a typo would lock the agent out
            raise ValidationError("两次输入的密码不一致。")
    with db.transaction() as session:
        org_id = support_requests.organisation_by_name(session, organisation).id if organisation else None
        user = accounts.create_user(session, username, password, role=role, display_name=name, actor="clerk:cli",
                                    organisation_id=org_id)
    print(f"已创建坐席账号 {user.username}（{user.role}）")


def _print_link_code(db: Database, mediator_code: str, hours: float) -> None:
    """issue-link-code: linking.issue_link_code in the clerk's name, printed with how to use it."""
    if not 0 < hours <= MAX_LINK_HOURS:
        raise ValidationError(f"有效期要在0到{MAX_LINK_HOURS}小时之间。")
    now = clock.now()
    ttl = dt.timedelta(hours=hours)
    with db.transaction() as session:
        code = linking.issue_link_code(session, mediator_code, actor="clerk:cli", ttl=ttl, now=now)
    print(f"绑定码：{code}")
    print(f"有效期至：{to_local(now + ttl):%Y-%m-%d %H:%M}（北京时间），只能使用一次")
    print(f"请调解员在 Telegram 里向机器人发送：/link {code}")


def _list_mediators(db: Database, point_code: str | None) -> None:
    # No phones here: a clerk's screen is no place for personal data it does not need.
    with db.reader() as session:
        query = select(Mediator).order_by(Mediator.code)
        if point_code:
            point = session.execute(select(ServicePoint).where(ServicePoint.code == point_code.strip())
                                    ).scalar_one_or_none()
            if point is None:
                raise NotFound(f"没有编号为“{point_code}”的服务点。")
            query = query.where(Mediator.service_points.any(ServicePoint.id == point.id))
        rows = session.execute(query).scalars().all()
        print("编号\t姓名\tTelegram")
        for m in rows:
            linked = "已绑定" if m.telegram_chat_id is not None else "未绑定"
            print(f"{m.code}\t{m.name}{_STATUS_NOTE.get(m.status, '')}\t{linked}")
        print(f"共{len(rows)}位调解员")


def _find_mediator(db: Database, query: str) -> None:
    with db.reader() as session:
        found = management.find_mediators(session, query, now=clock.now())
    if not found:
        print("没有找到符合条件的调解员。")
        return
    print("编号\t姓名\t电话\t服务点\tTelegram\t匹配")
    for f in found:
        r = f.row
        name = r.name + _STATUS_NOTE.get(r.status, "")
        print(f"{r.code}\t{name}\t{r.phone_masked}\t{'、'.join(r.points)}\t{r.telegram}\t{f.matched}")
    print(f"共{len(found)}位调解员")


def _show_calendar(db: Database) -> None:
    with db.reader() as session:
        this_year = to_local(clock.now()).year
        for y in workcalendar.years(session, this_year):
            state = f"已发布（{y.source}）" if y.published else "未发布"
            print(f"{y.year}年\t{state}\t放假{y.holidays}天\t上班日{y.workdays}天")
        missing = workcalendar.next_year_missing(session)
    if missing:
        print(f"提醒：{missing}年的节假日安排还没有发布，{missing}年的日期暂时不能预约。", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="court-admin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the schema")
    p_seed = sub.add_parser("seed", help="load places, courts and the demo roster (idempotent)")
    p_seed.add_argument("--no-demo", action="store_true", help="skip the demo service points and mediators")
    p_roster = sub.add_parser("load-roster", help="load service points and mediators from a YAML file")
    p_roster.add_argument("file", type=Path)
    p_cal = sub.add_parser("load-calendar", help="enter a year's holidays and adjusted working days from YAML")
    p_cal.add_argument("file", type=Path)
    sub.add_parser("calendar", help="the years of the court's holiday calendar and whether they are published")
    sub.add_parser("status", help="count what the database holds")
    p_link = sub.add_parser("issue-link-code", help="issue a one-time code a mediator sends to the bot (/link CODE)")
    p_link.add_argument("mediator_code")
    p_link.add_argument("--hours", type=float, default=72, help="validity in hours (default 72)")
    p_user = sub.add_parser("add-desk-user", help="a 12368 desk account (password from DESK_PASSWORD or a prompt)")
    p_user.add_argument("username")
    p_user.add_argument("--role", choices=tuple(r.value for r in DeskRole), default="agent",
                        help="agent: 12368 hotline; clerk: statistics; admin: everything; "
                             "partner: a township's, department's or mediation organisation's requests (接诉即办)")
    p_user.add_argument("--name", required=True, help="the name residents see on replies")
    p_user.add_argument("--organisation", help="a partner account's organisation (see add-organisation)")
    p_org = sub.add_parser("add-organisation", help="a township, department or mediation organisation (接诉即办)")
    p_org.add_argument("name")
    p_org.add_argument("--kind", choices=tuple(k.value for k in OrganisationKind), required=True)
    p_org.add_argument("--place", help="a township's or street's place name, e.g. 西岗子镇 (required for townships)")
    p_list = sub.add_parser("list-mediators", help="mediators and whether their Telegram chat is linked")
    p_list.add_argument("--point", help="only the mediators of this service point code")
    p_down = sub.add_parser("service-down", help="alert the desk that a part of the stack stopped (systemd OnFailure=)")
    p_down.add_argument("component", help="the unit or part, e.g. court-rasa@5015.service")
    p_down.add_argument("--reason", default="systemd gave up restarting it")
    p_find = sub.add_parser("find-mediator", help="a mediator by case reference, (part of a) name or service point")
    p_find.add_argument("query", help="a case reference, part of a name or code, or part of a service point's name")
    args = parser.parse_args(argv)

    settings.private_files()  # `make db` creates var/court.db: owner-only
    db = Database()
    try:
        if args.command == "migrate":
            db.migrate()
            print("schema up to date")
        elif args.command == "seed":
            report = seed(db, demo=not args.no_demo)
            print(f"places={report.places} courts={report.courts} "
                  f"service_points={report.service_points} mediators={report.mediators}")
        elif args.command == "load-roster":
            with db.transaction() as session:
                points, mediators = load_roster_file(session, args.file, actor="clerk:cli")
            print(f"loaded service_points={points} mediators={mediators}")
        elif args.command == "load-calendar":
            with db.transaction() as session:
                year = load_year_file(session, args.file, actor="clerk:cli")
                done = workcalendar.of(session).is_published(year)
            print(f"{year}年节假日安排已录入" + ("并发布" if done else "（未发布：只有确认的上班日可以预约）"))
        elif args.command == "calendar":
            _show_calendar(db)
        elif args.command == "service-down":
            component = args.component.removeprefix("court-").removesuffix(".service").split("@")[0]
            with db.transaction() as session:
                service_alerts.service_down(session, component, args.reason, restarts=0)
            print(f"已提醒热线工作台：{service_alerts.label(component)}停止运行")
        elif args.command == "status":
            with db.reader() as session:
                for label, model in (("places", Place), ("service_points", ServicePoint),
                                     ("mediators", Mediator), ("cases", Case), ("appointments", Appointment)):
                    print(f"{label}: {session.execute(select(func.count()).select_from(model)).scalar_one()}")
        elif args.command == "issue-link-code":
            _print_link_code(db, args.mediator_code, args.hours)
        elif args.command == "add-desk-user":
            _add_desk_user(db, args.username, args.role, args.name, args.organisation)
        elif args.command == "add-organisation":
            _add_organisation(db, args.name, args.kind, args.place)
        elif args.command == "list-mediators":
            _list_mediators(db, args.point)
        elif args.command == "find-mediator":
            _find_mediator(db, args.query)
    except CourtError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
