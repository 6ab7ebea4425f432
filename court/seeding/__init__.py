"""Loading reference data: Heihe's divisions (``divisions``) and courts (``courts``),
service-point rosters (``roster``), the holiday calendar (``calendar``), the fictional demo
roster (``demo``), the idempotent seed that loads them (``seed``), and a synthetic year of
cases for the statistics' tests and benchmarks (``synthetic/``)."""
