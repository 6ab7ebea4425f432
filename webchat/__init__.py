"""The residents' web chat: a mobile page, its server, live pushes (see app.py for its modules)."""
