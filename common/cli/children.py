"""Child processes that cannot outlive the command that started them, and a port check before starting.

``ocrq up`` starts Redis, gunicorn and a Celery worker, each in a session of its own (so that Ctrl-C
reaches only ``ocrq up``, which stops them in order). A session of its own also means nothing reaps them if
``ocrq up`` itself dies; so each is started with Linux's ``PR_SET_PDEATHSIG``: the kernel sends it SIGTERM
when its parent goes, however it goes (SIGKILL included), and each stops cleanly on SIGTERM.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when this process dies (Linux;
    None elsewhere, where children are only stopped by ``ocrq up``'s own exit path)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        os.setsid()  # a session of its own: Ctrl-C on the terminal reaches ocrq up, not the children
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl: nothing would signal us
            os.kill(os.getpid(), sig)

    return preexec


def port_taken(host: str, port: int) -> bool:
    """True when something already listens on (or holds) ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: TIME_WAIT is free
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False
