"""Telegram update handlers, one module per audience: residents, mediators, buttons."""
