"""`python -m bot`: the Telegram front end alone (bot/app.py); `python -m stack` starts the whole stack."""
import sys

from bot.app import main

sys.exit(main())
