"""What the desk's blueprints share through the Flask app: the court's database and the
client for Rasa's transcripts, each created once in desk/app.py's create_app."""
from __future__ import annotations

from flask import current_app

from court.store.db import Database
from desk.tracker_client import TrackerClient

DB_KEY = "court_db"
TRACKERS_KEY = "tracker_client"


def court_db() -> Database:
    return current_app.extensions[DB_KEY]


def trackers() -> TrackerClient:
    return current_app.extensions[TRACKERS_KEY]
