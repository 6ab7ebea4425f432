"""The two doors into the court for the front ends: ``assistant`` (what the Rasa actions ask,
one transaction per call) and ``messenger`` (what the Telegram and web chat front ends ask)."""
