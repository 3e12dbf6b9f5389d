"""Running the installed ``ocrq`` console script in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OCRQ = str(Path(sys.executable).with_name("ocrq"))


def ocrq(*args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    """``ocrq ARGS...`` with the test's environment plus ``env``; its output as text."""
    return subprocess.run([OCRQ, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})
