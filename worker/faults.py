"""Test-only faults a job can ask for (``fault`` option, only with OCRQ_FAULT_INJECTION=1)."""

from __future__ import annotations

import os
import signal
import time


def inject_fault(fault: str) -> None:
    """``crash`` kills this process, ``sleep:N`` sleeps N seconds, ``raise`` raises."""
    if fault == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault.startswith("sleep:"):
        time.sleep(float(fault.split(":", 1)[1]))
    elif fault == "raise":
        raise RuntimeError("injected fault")
