"""Per-page latency of ocrq against the rapidocr library: same pages, machine, thread count and run.

    python bench/speed.py [--system ocrq] [--dataset synth_zh_docs] [--limit 10]
                          [--threads 2] [--warmup 2] [--out bench/results/speed.md]

Both systems are built in this one process with the same onnxruntime intra-op thread count, warmed up,
then timed interleaved (ocrq then rapidocr on each page) so load from other work on the machine hits
both alike. Reports p50/p90 wall time per page, their ratio ocrq/rapidocr, and the share of ocrq's own
time spent outside onnxruntime (1 - onnx/total from its timings_ms): the part our Python code owns.
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


def measure(a: System, b: System, paths: list[Path], warmup: int) -> dict[str, list[float]]:
    """Warm both up on the first `warmup` pages, then time A then B on every page."""
    for p in paths[:warmup]:
        a.run(p)
        b.run(p)
    out: dict[str, list[float]] = {"a": [], "b": [], "ratio": [], "outside": [], "onnx": [], "own_total": []}
    for i, p in enumerate(paths, 1):
        ta = timed(a, p)
        tim = a.last_timings_ms
        tb = timed(b, p)
        out["a"].append(ta)
        out["b"].append(tb)
        out["ratio"].append(ta / tb)
        if "onnx" in tim and tim.get("total"):
            out["onnx"].append(float(tim["onnx"]))
            out["own_total"].append(float(tim["total"]))
            out["outside"].append(1.0 - float(tim["onnx"]) / float(tim["total"]))
        print(
            f"{i}/{len(paths)} {p.name}: {a.name} {ta:.0f} ms, {b.name} {tb:.0f} ms",
            file=sys.stderr,
            flush=True,
        )
    return out


def render(a: System, b: System, m: dict[str, list[float]], args: argparse.Namespace, load0, load1) -> str:
    def row(name: str, xs: list[float]) -> str:
        return f"| {name} | {percentile(xs, 50):.0f} | {percentile(xs, 90):.0f} | {statistics.mean(xs):.0f} |"

    p50 = percentile(m["a"], 50) / percentile(m["b"], 50)
    p90 = percentile(m["a"], 90) / percentile(m["b"], 90)
    if m["outside"]:
        pooled = 1.0 - sum(m["onnx"]) / sum(m["own_total"])
        outside = (
            f"{100 * pooled:.1f} % of its own total time (pooled over pages); per page p50 "
            f"{100 * percentile(m['outside'], 50):.1f} %, p90 {100 * percentile(m['outside'], 90):.1f} %"
        )
    else:
        outside = f"not available ({a.name} reports no 'onnx'/'total' timings)"
    command = " ".join(["python", "bench/speed.py", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "# Speed: ocrq vs the rapidocr library",
            "",
            f"Run {when} on {platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"onnxruntime {version('onnxruntime')}): `{command}`.",
            f"{len(m['a'])} pages of {args.dataset}, {args.threads} intra-op threads each, "
            f"{args.warmup} warm-up pages, interleaved. Load average before/after: {load0:.2f} / {load1:.2f} "
            "(other work on the machine adds noise to both columns alike).",
            "",
            "| system | p50 ms | p90 ms | mean ms |",
            "|---|---|---|---|",
            row(a.name, m["a"]),
            row(b.name, m["b"]),
            "",
            f"Ratio {a.name} / {b.name}: p50 {p50:.2f}, p90 {p90:.2f} "
            f"(per-page ratio: p50 {percentile(m['ratio'], 50):.2f}, p90 {percentile(m['ratio'], 90):.2f}). "
            "Below 1 means ocrq is faster.",
            "",
            f"{a.name} time outside onnxruntime: {outside}.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--system",
        default="ocrq",
        help="system to time against the baseline; `ocrq` is the engine's default pack and mode",
    )
    ap.add_argument("--baseline", default="rapidocr")
    ap.add_argument("--dataset", default="synth_zh_docs")
    ap.add_argument("--limit", type=int, default=10, help="pages timed (the first N)")
    ap.add_argument("--warmup", type=int, default=2, help="pages run untimed first by both systems")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads for both")
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speed.md")
    args = ap.parse_args(argv)
    ds = load(args.dataset, args.data_root, args.limit)
    paths = [ds.image_path(p) for p in ds.pages]
    a, b = make_system(args.system, args.threads), make_system(args.baseline, args.threads)
    load0 = os.getloadavg()[0]
    m = measure(a, b, paths, args.warmup)
    report = render(a, b, m, args, load0, os.getloadavg()[0])
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
