"""Appointments with a mediator at a service point: the booking engine (``engine``), free
times offered as tokens (``offers``), an appointment as residents read it (``cards``), Chinese
date expressions (``datetext``) and the mediator's answer deadline (``acceptance``)."""
