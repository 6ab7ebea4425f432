"""The pushes the engine's changes write: what they say to whom."""
from court.booking import engine
from tests.factories import NOW, TUESDAY, local, new_case, outbox_rows, single_mediator_point


def test_the_mediators_push_masks_a_phone_typed_into_the_summary(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        case = new_case(s)
        case.summary = "邻居漏水不管，打我电话13945612378"
        engine.book(s, case, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        [push] = outbox_rows(s, template="appointment_new", recipient_type="mediator")
        assert push.payload["summary"] == "邻居漏水不管，打我电话139****2378"
        assert all("13945612378" not in str(row.payload) for row in outbox_rows(s, recipient_type="mediator"))
