"""What the court knows before anyone writes to it: which body handles a dispute
(``guidance``), litigation fees (``fees``), the legal statements with their articles (``legal``),
danger and criminal cues (``safety``, ``triage``), Heihe's places (``places``), which court
confirms an agreement (``jc_court``) and the Chinese words for every enum (``labels``). The
files it reads are in ``data/``."""
