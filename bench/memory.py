"""A worker's memory: resident and peak RSS of one engine process, and its time per page, with onnxruntime's
CPU memory arena on (the default) and off (OCRQ_ORT_MEMORY_ARENA=false), side by side in one run.

    python bench/memory.py [--pages 30] [--rounds 2] [--out bench/results/memory.md]

Each measurement is a fresh Python process that loads the engine (2 threads) and reads the same pages
(the first ones of synth_zh_docs and of sroie2019_task1, alternately) with enhance=auto; settings
alternate between rounds, so load from other work hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import DEFAULT_DATA_ROOT, REPO, load  # noqa: E402

SETTINGS = {"arena on (default)": "true", "arena off": "false"}

# Runs in the child: the engine, the pages, then RSS now, peak RSS and seconds per page, as JSON.
CHILD = """
import json, resource, sys, time
from ocrq.config import Settings
from ocrq.ocr import OcrEngine
engine = OcrEngine.from_settings(Settings(ort_threads=2))
paths = sys.argv[1:]
start = time.perf_counter()
for path in paths:
    engine.run(open(path, "rb").read(), enhance="auto")
seconds = (time.perf_counter() - start) / len(paths)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds_per_page": seconds}))
"""


def measure(arena: str, paths: list[str]) -> dict:
    env = {**os.environ, "OCRQ_ORT_MEMORY_ARENA": arena, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, *paths], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "memory.md")
    args = parser.parse_args(argv)

    half = (args.pages + 1) // 2
    sets = [load(name, args.data_root, half) for name in ("synth_zh_docs", "sroie2019_task1")]
    paths = [str(s.image_path(page)) for pair in zip(*([(s, p) for p in s.pages] for s in sets), strict=False)
             for s, page in pair]
    paths = paths[: args.pages]
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for round_no in range(args.rounds):
        for name, arena in SETTINGS.items():
            runs[name].append(measure(arena, paths))
            print(f"round {round_no + 1} {name}: {runs[name][-1]}", file=sys.stderr)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    base = next(iter(SETTINGS))
    rows = [
        f"| {name} | {median(name, 'rss_mb'):.0f} | {median(name, 'peak_mb'):.0f} | "
        f"{median(name, 'seconds_per_page') * 1000:.0f} | "
        f"{median(name, 'rss_mb') / median(base, 'rss_mb'):.2f} | "
        f"{median(name, 'seconds_per_page') / median(base, 'seconds_per_page'):.2f} |"
        for name in SETTINGS
    ]
    report = "\n".join([
        "# Memory: one engine process, onnxruntime's CPU arena on and off",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} CPUs): "
        f"`python bench/memory.py --pages {args.pages} --rounds {args.rounds}`. {len(paths)} pages "
        "(synth_zh_docs and sroie2019_task1 alternately), enhance=auto, 2 threads, a fresh process per "
        f"measurement, medians of {args.rounds} rounds.",
        "",
        "| setting | RSS after, MB | peak RSS, MB | ms per page | RSS ratio | time ratio |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
