"""The QR poster of a service point: admins only, the facts a resident needs on the wall,
and a QR code of the signed web chat link."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from court import admin as management
from court.core import clock
from court.hotline import accounts
from court.messaging import poster_links
from court.store.schema import ServicePoint
from tests.desk.test_desk_app import PASSWORD, _csrf, _login, app  # noqa: F401 - app is a fixture


def _admin(app, db):  # type: ignore[no-untyped-def]  # noqa: F811
    with db.transaction() as s:
        accounts.create_user(s, "boss", PASSWORD, display_name="周敏", role="admin", now=clock.now())
    return _login(app, "boss")


class _Point:
    def __init__(self, row: ServicePoint) -> None:
        self.id, self.name, self.address = row.id, row.name, row.address


def _point(db) -> _Point:
    with db.reader() as s:
        return _Point(s.execute(select(ServicePoint).where(ServicePoint.active.is_(True))
                                .order_by(ServicePoint.id)).scalars().first())


def test_an_admin_prints_a_poster_whose_qr_opens_the_point(app, db, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("WEBCHAT_PUBLIC_URL", "https://chat.hhcourt.example/")
    client = _admin(app, db)
    point = _point(db)
    assert f"/admin/points/{point.id}/poster" in client.get(f"/admin/points/{point.id}").get_data(as_text=True)
    page = client.get(f"/admin/points/{point.id}/poster")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    with db.reader() as s:
        hours = management.point_detail(s, point.id, now=clock.now()).hours
    for fact in (point.name, point.address, "12368", hours[0], "<svg", "扫码"):
        assert fact in text
    url = re.search(r'class="poster-url">(https://chat\.hhcourt\.example/p/[A-Za-z0-9_-]+)<', text).group(1)
    assert poster_links.point_of(url.rsplit("/", 1)[1]) == point.id and f"/{point.id}" not in url
    assert "<script>" not in text  # the print button works under the strict CSP


def test_agents_and_clerks_cannot_and_a_closed_point_has_no_poster(app, db) -> None:  # noqa: F811
    point = _point(db)
    agent = _login(app)  # "li", an agent
    assert agent.get(f"/admin/points/{point.id}/poster").status_code == 403
    with db.transaction() as s:
        accounts.create_user(s, "zhao", PASSWORD, display_name="赵会计", role="clerk", now=clock.now())
    clerk = app.test_client()
    clerk.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf_token": _csrf(clerk)})
    assert clerk.get(f"/admin/points/{point.id}/poster").status_code == 403
    admin = _admin(app, db)
    assert admin.get("/admin/points/999999/poster").status_code == 404
    with db.transaction() as s:
        s.get(ServicePoint, point.id).active = False
    closed = admin.get(f"/admin/points/{point.id}/poster")
    assert closed.status_code == 302 and closed.headers["Location"].endswith(f"/admin/points/{point.id}")
