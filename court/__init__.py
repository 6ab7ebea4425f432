"""The court's business rules and storage, independent of Rasa and Telegram.

Layers: ``court.store`` owns the schema and sessions; the modules beside it
(places, booking, cases, validation, ...) hold the rules; ``actions/`` and
``bot/`` call them, never the other way round.
"""
