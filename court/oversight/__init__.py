"""What the court's leaders read: statistics and scorecards (``stats/``) and integrity alerts
(``integrity/``)."""
