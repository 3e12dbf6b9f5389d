"""Accessors for what ``create_app`` put on the app, for the blueprints."""

from __future__ import annotations

from flask import current_app, g

from ocrq.config import Settings
from ocrq.queue import JobQueue
from ocrq.store.jobs import JobStore


def settings() -> Settings:
    return current_app.extensions["ocrq.settings"]


def queue() -> JobQueue:
    return current_app.extensions["ocrq.queue"]


def store() -> JobStore:
    return queue().store


def owner() -> str:
    """The identity jobs are filed under: "" without API keys, else one per key (set by api/auth.py)."""
    return g.get("ocrq_owner", "")
