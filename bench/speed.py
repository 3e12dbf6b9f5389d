"""Per-page latency of ocrq against its peers: same pages, machine, thread count and run.

    python bench/speed.py [--system ocrq] [--baselines rapidocr,rapidocr-nocls,faster-paddle-small]
                          [--dataset synth_zh_docs] [--limit 30] [--rounds 3] [--threads 2] [--warmup 2]
                          [--out bench/results/speed.md]

Every system is built in this one process with the same thread count, warmed up, then timed interleaved
(each system in turn on each page) so load from other work on the machine hits all alike; that is done
``--rounds`` times. Reports each round's p50/p90 wall time per page, the ratios ocrq/peer of the p50s
(median and range over the rounds), and the share of ocrq's own time spent outside onnxruntime
(1 - onnx/total from its timings_ms): the part our Python code owns.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import DEFAULT_DATA_ROOT, REPO, load  # noqa: E402
from bench.systems import System, make_system  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated q-th percentile (q in 0..100) of a non-empty list."""
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def timed(system: System, path: Path) -> float:
    """Wall milliseconds of one run, file read and decode included (each system reads the file itself)."""
    t0 = time.perf_counter()
    system.run(path)
    return 1000.0 * (time.perf_counter() - t0)


def measure(systems: list[System], paths: list[Path], warmup: int) -> dict[str, list[float]]:
    """Warm every system up on the first `warmup` pages, then time them in turn on every page: ms per
    page by system name; ocrq's (the first system's) share outside onnxruntime under "outside"."""
    for p in paths[:warmup]:
        for system in systems:
            system.run(p)
    out: dict[str, list[float]] = {s.name: [] for s in systems}
    out["outside"], out["onnx"], out["own_total"] = [], [], []
    for i, p in enumerate(paths, 1):
        for k, system in enumerate(systems):
            out[system.name].append(timed(system, p))
            tim = system.last_timings_ms
            if k == 0 and "onnx" in tim and tim.get("total"):
                out["onnx"].append(float(tim["onnx"]))
                out["own_total"].append(float(tim["total"]))
                out["outside"].append(1.0 - float(tim["onnx"]) / float(tim["total"]))
        times = ", ".join(f"{s.name} {out[s.name][-1]:.0f} ms" for s in systems)
        print(f"{i}/{len(paths)} {p.name}: {times}", file=sys.stderr, flush=True)
    return out


def render(systems: list[System], rounds: list[dict[str, list[float]]], args: argparse.Namespace, load0,
           load1) -> str:
    ocrq, peers = systems[0], systems[1:]
    lines = ["| round | " + " | ".join(f"{s.name} p50 / p90 ms" for s in systems) + " |",
             "|---" * (len(systems) + 1) + "|"]
    for k, m in enumerate(rounds, 1):
        lines.append(f"| {k} | " + " | ".join(
            f"{percentile(m[s.name], 50):.0f} / {percentile(m[s.name], 90):.0f}" for s in systems) + " |")
    ratios = []
    for peer in peers:
        p50s = sorted(percentile(m[ocrq.name], 50) / percentile(m[peer.name], 50) for m in rounds)
        ratios.append(f"- {ocrq.name} / {peer.name}: p50 ratio **{statistics.median(p50s):.2f}** "
                      f"(rounds: {', '.join(f'{r:.2f}' for r in p50s)})")
    onnx = [x for m in rounds for x in m["onnx"]]
    total = [x for m in rounds for x in m["own_total"]]
    outside = (f"{100 * (1.0 - sum(onnx) / sum(total)):.1f} % of its own total time (pooled over pages and "
               "rounds)") if total else f"not available ({ocrq.name} reports no 'onnx'/'total' timings)"
    command = " ".join(["python", "bench/speed.py", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "# Speed: ocrq against its peers",
        "",
        f"Run {when} on {platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"onnxruntime {version('onnxruntime')}): `{command}`.",
        f"{len(rounds[0][ocrq.name])} pages of {args.dataset}, {args.threads} threads each, {args.warmup} "
        f"warm-up pages, interleaved, {len(rounds)} rounds. Load average before/after: {load0:.2f} / "
        f"{load1:.2f} (other work on the machine adds noise to every column alike).",
        "",
        *lines,
        "",
        "Median latency per page, ratio ocrq / peer of the p50s (below 1: ocrq is faster):",
        "",
        *ratios,
        "",
        f"{ocrq.name} time outside onnxruntime: {outside}.",
        "",
    ])

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", default="ocrq",
                    help="the system timed against the peers; `ocrq` is the engine's defaults")
    ap.add_argument("--baselines", default="rapidocr,rapidocr-nocls,faster-paddle-small",
                    help="comma-separated peers (bench/systems.py names)")
    ap.add_argument("--dataset", default="synth_zh_docs")
    ap.add_argument("--limit", type=int, default=30, help="pages timed (the first N)")
    ap.add_argument("--rounds", type=int, default=3, help="times every page is timed, interleaved")
    ap.add_argument("--warmup", type=int, default=2, help="pages run untimed first by every system")
    ap.add_argument("--threads", type=int, default=2, help="threads for every system")
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speed.md")
    args = ap.parse_args(argv)
    ds = load(args.dataset, args.data_root, args.limit)
    paths = [ds.image_path(p) for p in ds.pages]
    systems = [make_system(args.system, args.threads)]
    systems += [make_system(name, args.threads) for name in args.baselines.split(",") if name]
    load0 = os.getloadavg()[0]
    rounds = [measure(systems, paths, args.warmup if k == 0 else 0) for k in range(args.rounds)]
    report = render(systems, rounds, args, load0, os.getloadavg()[0])
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
