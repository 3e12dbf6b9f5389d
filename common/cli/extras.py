"""What a command needs beyond the client: the extra that brings it, named in one line when it is missing.

``pip install ocrq`` is the client and ``ocrq submit/status``; the server commands need an extra. A command
checks for its modules before importing anything heavy, so a missing one is a message, not a traceback.
"""

from __future__ import annotations

import importlib.util

# The modules each extra brings that its commands import first (pyproject.toml, optional-dependencies).
EXTRA_MODULES = {
    "api": ("celery", "redis", "pydantic_settings", "flask", "gunicorn"),
    "worker": ("celery", "redis", "pydantic_settings", "onnxruntime", "cv2", "pyclipper"),
    "all": ("celery", "redis", "pydantic_settings", "flask", "gunicorn", "onnxruntime", "cv2", "pyclipper"),
}


class MissingExtra(SystemExit):
    """Raised by :func:`require`; a SystemExit, so the command line prints its one line and exits 2."""


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]


def require(command: str, extra: str) -> None:
    """Stop ``ocrq <command>`` with one line naming the extra if a module it brings is not installed."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(f"ocrq {command}: {', '.join(missing)} not installed; it comes with the "
                           f"'{extra}' extra: pip install 'ocrq[{extra}]'")
