"""Page-level reading-order score: how far a page's text is from its ground truth read in order.

    python bench/layouts.py --pages 20                       # the multi-column pages, once
    python bench/reading_order.py [--layouts bench/out/layouts] [--single 10] [--threads 2]

score = Levenshtein(normalise(page text), normalise(truth)) / len(normalise(truth)), whitespace removed
(``bench.metric.normalise``), summed over pages (distances over lengths). The truth is the ground truth's
lines in their order: bench/layouts.py's pages (multi-column), and the first ``--single`` pages of
synth_zh_docs and of sroie2019_task1 (single column; their labels list lines top to bottom). Each page
is read once by the engine; "columns" is its text (``OcrResult.text``: the layout's order), "rows" the
same lines put back in top-to-bottom order (``ocrq.ocr.geometry.reading_order``, the order before issue
15), so the two differ by order alone. Also reports the engine's "words" stage (word boxes and layout)
in ms per page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from bench.data import DEFAULT_DATA_ROOT, REPO, load  # noqa: E402
from bench.metric import normalise  # noqa: E402


def distance(text: str, truth: str) -> tuple[int, int]:
    """(edit distance, truth length) of whitespace-free NFKC texts."""
    a, b = normalise(text), normalise(truth)
    return Levenshtein.distance(a, b), len(b)


def rows_text(result) -> str:
    """The result's lines in top-to-bottom order, a line per line (the order before columns)."""
    import numpy as np

    from ocrq.ocr.geometry import reading_order

    if not result.lines:
        return ""
    boxes = np.asarray([line.box for line in result.lines], dtype=np.float64)
    return "\n".join(result.lines[i].text for i in reading_order(boxes))


def pages(layouts: Path, data_root: Path, single: int) -> list[tuple[str, Path, str]]:
    """(set, image path, truth) of every page scored."""
    out = []
    for line in (layouts / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out.append(("multi-column", layouts / record["image"], record["text"]))
    for name in ("synth_zh_docs", "sroie2019_task1") if single > 0 else ():
        ds = load(name, data_root, single)
        for page in ds.pages:
            out.append((f"single: {name}", ds.image_path(page), "\n".join(x["text"] for x in page["lines"])))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layouts", type=Path, default=REPO / "bench" / "out" / "layouts")
    ap.add_argument("--single", type=int, default=10, help="pages of each single-column dataset")
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", action="store_true", help="print each page's score")
    args = ap.parse_args(argv)

    from ocrq.config import Settings
    from ocrq.ocr import OcrEngine

    engine = OcrEngine.from_settings(Settings(ort_threads=args.threads))
    sums: dict[str, list[int]] = {}
    extra: list[float] = []
    total: list[float] = []
    for group, path, truth in pages(args.layouts, args.data_root, args.single):
        result = engine.run(path.read_bytes())
        extra.append(result.timings_ms.get("words", 0.0))
        total.append(result.timings_ms.get("total", 0.0))
        (d_rows, n), (d_cols, _) = distance(rows_text(result), truth), distance(result.text, truth)
        counts = sums.setdefault(group, [0, 0, 0, 0])
        counts[0] += d_rows
        counts[1] += d_cols
        counts[2] += n
        counts[3] += 1
        if args.show:
            print(f"{path.name}: rows {d_rows / n:.3f} columns {d_cols / n:.3f}")
    print("| pages | n | rows (before) | columns (issue 15) | before / after |")
    print("|---|---:|---:|---:|---:|")
    for group, (rows, cols, n, count) in sums.items():
        ratio = f"{rows / cols:.1f}x" if cols else "inf"
        print(f"| {group} | {count} | {rows / n:.4f} | {cols / n:.4f} | {ratio} |")
    print(f"\nwords + layout: median {statistics.median(extra):.1f} ms per page, max {max(extra):.1f} ms "
          f"(page total median {statistics.median(total):.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
