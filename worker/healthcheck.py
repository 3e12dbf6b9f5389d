"""Container health check: exit 0 if a worker node of this host sent a heartbeat in the last 15 s."""

import socket
import sys

from ocrq.config import get_settings
from ocrq.store import WorkerRegistry, connect


def main() -> int:
    prefix = f"ocrq@{socket.gethostname()}-"  # the node names `ocrq worker` gives (ocrq/cli/serve.py)
    try:
        alive = any(node.startswith(prefix) for node in WorkerRegistry(connect(get_settings())).live())
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
