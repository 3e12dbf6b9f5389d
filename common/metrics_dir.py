"""Where prometheus-client's multiprocess mode keeps its files (``PROMETHEUS_MULTIPROC_DIR``).

gunicorn's workers and Celery's prefork children are separate processes: each writes its samples to
files in this directory and a scrape adds them up. The variable must be set before ``prometheus_client``
is first imported (it picks its value store then), so this module does not import it.

Whoever sets the variable owns the directory: a process that finds it unset makes a fresh one for this
run (its children inherit it) and removes it at exit; one set from outside (``ocrq up``, a deployment) is
used as it is and left to its owner.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_owned: tuple[int, Path] | None = None  # (pid of the owner, directory) when this process made it


def ensure(prefix: str) -> Path:
    """The multiprocess directory, made (and exported to children) when the environment names none."""
    global _owned
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    _sweep()
    path = Path(tempfile.mkdtemp(prefix=f"ocrq-metrics-{prefix}-{os.getpid()}-"))
    os.environ[ENV] = str(path)
    _owned = (os.getpid(), path)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # Imported already (the `celery` command loads its plugins first, and Flower's imports
        # prometheus_client): metrics made from now on must use the multiprocess store all the same.
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return path


def _sweep() -> None:
    """Remove the directories of earlier runs whose owner is gone without cleaning up (SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob("ocrq-metrics-*-*-*"):
        pid = path.name.split("-")[3]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # alive, someone else's
            pass


def release() -> None:
    """Remove the directory if this very process made it (forked children inherit ``_owned``; they
    must not remove it)."""
    global _owned
    if _owned is not None and _owned[0] == os.getpid():
        shutil.rmtree(_owned[1], ignore_errors=True)
        if os.environ.get(ENV) == str(_owned[1]):
            del os.environ[ENV]
        _owned = None
