"""What the court knows before anyone writes to it: which body handles a dispute
(``guidance``), litigation fees (``fees``), the legal statements with their articles (``legal``),
danger and criminal cues (``safety``, ``triage``), Heihe's places (``places``) and which court
confirms an agreement (``jc_court``). The files it reads are in ``data/``."""
