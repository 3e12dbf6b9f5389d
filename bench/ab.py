"""A/B of engine variants on speed alone: the same pages through each system in turn, interleaved, in one
process, reported as total time relative to the first system.

    python bench/ab.py ocrq-ppocrv6-auto 'ocrq-ppocrv6-auto[det.min_side=640]' [--pages 30] [--rounds 2]

For tuning hyper-parameters (any `ocrq-<pack>-<mode>[group.field=value,...]` of bench/systems.py):
a variant that is faster here still needs `bench/accuracy.py` before it becomes a default.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import DEFAULT_DATA_ROOT, load  # noqa: E402
from bench.systems import make_system, split_systems  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("systems", nargs="+", help="the baseline first, then the variants")
    parser.add_argument("--pages", type=int, default=30, help="2/3 synth_zh_docs, 1/3 sroie2019_task1")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    args = parser.parse_args(argv)

    names = [name for arg in args.systems for name in split_systems(arg)]
    synth = load("synth_zh_docs", args.data_root, args.pages - args.pages // 3)
    sroie = load("sroie2019_task1", args.data_root, args.pages // 3)
    paths = [str(d.image_path(p)) for d in (synth, sroie) for p in d.pages]
    systems = {name: make_system(name, args.threads) for name in names}
    for system in systems.values():  # warm-up: the first runs allocate
        for path in paths[:2]:
            system.run(path)
    seconds = dict.fromkeys(names, 0.0)
    for _ in range(args.rounds):
        for path in paths:
            for name, system in systems.items():
                start = time.perf_counter()
                system.run(path)
                seconds[name] += time.perf_counter() - start
    base = seconds[names[0]]
    for name in names:
        print(f"{name}: {seconds[name]:.1f} s, {seconds[name] / base:.3f} of {names[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
