"""Redis restarted many times under a steady client, on a private stack: after each restart, how long the
accepted jobs take to finish. Not a test (it runs for minutes); the check behind
ocrq/store/transport.py. ``python -m tests.reliability.restart_cycles <dir> [cycles] [seed]``: one line
per restart; it stops at the first restart after which jobs are still unfinished 90 s later, and leaves
that stack's logs in <dir>."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import requests

from ocrq.store.jobs import FINISHED
from tests.reliability.harness import Stack, label, tiny_png, wait_finished


def main(base: Path, cycles: int, seed: int) -> int:
    stack = Stack(base, concurrency=2).start(workers=1)
    accepted: list[str] = []
    stop = threading.Event()

    def client() -> None:  # about 3 jobs a second: the backlog drains between restarts
        with requests.Session() as http:
            for n in range(10**6):
                if stop.is_set():
                    return
                try:
                    answer = http.post(f"{stack.url}/v1/jobs", files={"image": ("r.png", tiny_png(label(n)))},
                                       timeout=60)
                    if answer.status_code == 202:
                        accepted.append(answer.json()["job_id"])
                except requests.RequestException:
                    pass
                time.sleep(0.3)

    threading.Thread(target=client, daemon=True).start()
    rng = random.Random(seed)
    for cycle in range(cycles):
        time.sleep(rng.uniform(0.5, 4))
        down = rng.uniform(0.2, 8)
        stack.stop_redis()
        time.sleep(down)
        stack.start_redis()
        up, ids = time.monotonic(), list(accepted)
        final = wait_finished(stack.redis(), ids, timeout=90)  # start_redis returns once it answers
        left = [j for j, s in final.items() if s is not None and s not in FINISHED]
        print(f"restart {cycle}: down {down:.1f} s, {len(ids)} accepted, {len(left)} unfinished after "
              f"{time.monotonic() - up:.1f} s", flush=True)
        if left:
            stop.set()
            print(f"stuck; the stack is left running, its logs in {base}", flush=True)
            return 1
    stop.set()
    stack.stop()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(Path(args[0]), int(args[1]) if len(args) > 1 else 40, int(args[2]) if len(args) > 2 else 3))
