"""Messaging channels in front of the Rasa assistant: the local console chat now,
Telegram next (issue 4)."""
