"""The court's records of people and cases: case references and statuses (``cases``),
residents and their consent (``residents``), the audit log and outbox writes (``journal``),
erasure on request (``erasure``), retention limits (``retention``) and the working-day
calendar (``workcalendar``)."""
