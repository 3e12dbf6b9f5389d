"""Container health check: exit 0 if a worker on this host refreshed its heartbeat in Redis."""

import socket
import sys

from ocrq.config import get_settings
from ocrq.jobs import PREFIX
from ocrq.redis_client import connect


def main() -> int:
    pattern = f"{PREFIX}worker:ocrq@{socket.gethostname()}-*"
    try:
        alive = any(True for _ in connect(get_settings()).scan_iter(match=pattern, count=100))
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
