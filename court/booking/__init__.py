"""Appointments with a mediator at a service point: which mediator, point and time is free
(``slots``), the booking engine that books, moves, cancels, accepts, declines and reassigns
(``engine``), the pushes and reminders those changes write (``pushes``), free times offered as
tokens (``offers``), an appointment as residents read it (``cards``), Chinese
date expressions (``datetext``) and the mediator's answer deadline (``acceptance``)."""
