"""End-to-end accuracy of OCR systems on the labelled datasets: CER and exact-line share (metric.md).

    python bench/accuracy.py [--datasets a,b] [--systems x,y] [--limit N] [--degrade blur2,lowres]
                             [--rescore] [--show] [--out bench/results/accuracy.md]

Systems run one after another (2-core machine, no pools). Raw predictions of every page are saved to
bench/out/preds/<dataset>/<system>.jsonl, so `--rescore` can re-score them without running OCR again.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import DEFAULT_DATA_ROOT, DEFAULT_DATASETS, OUT, REPO, Dataset, load  # noqa: E402
from bench.metric import PageScore, align_page, score_page, total  # noqa: E402
from bench.systems import DEFAULT_SYSTEMS, make_system, split_systems  # noqa: E402
from bench.transform import move_box  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def command_line(script: str) -> str:
    """How this run was started, for the report's provenance line."""
    return " ".join(["python", script, *sys.argv[1:]])


def preds_path(dataset: str, system: str) -> Path:
    return OUT / "preds" / dataset / f"{system}.jsonl"


def run_ocr(system, ds: Dataset) -> None:
    """Run one system over a dataset's pages, writing one JSON record per page as it goes."""
    path = preds_path(ds.name, system.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i, page in enumerate(ds.pages, 1):
            rec: dict = {"image": page["image"]}
            t0 = time.perf_counter()
            try:
                lines = system.run(ds.image_path(page))
            except Exception as exc:  # one bad page must not lose the others; it is reported, not hidden
                lines, rec["error"] = [], f"{type(exc).__name__}: {exc}"
            rec["seconds"] = round(time.perf_counter() - t0, 4)
            rec["timings_ms"] = system.last_timings_ms
            rec.update(getattr(system, "last_extra", {}))
            rec["lines"] = [{"text": t, "confidence": c, "box": b} for t, c, b in lines]
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            status = rec.get("error") or f"{len(lines)} lines"
            log(
                f"[{system.name}] {ds.name} {i}/{len(ds.pages)} {page['image']} "
                f"{rec['seconds']:.2f} s, {status}"
            )


def read_preds(dataset: str, system: str) -> dict[str, dict] | None:
    """Saved page records by image path, or None when this system never ran on this dataset."""
    path = preds_path(dataset, system)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        return {r["image"]: r for r in map(json.loads, fh) if r}


class Cell:
    """One system on one dataset: the summed score plus what the table must say about coverage."""

    def __init__(self, score: PageScore, wanted: int, failed: int, seconds: float) -> None:
        self.score, self.wanted, self.failed, self.seconds = score, wanted, failed, seconds


def upright_frame(page: dict, lines: list) -> tuple[dict, list]:
    """A turned copy's page (bench/transform.py) and predictions in its source's frame: the source record,
    and each predicted box mapped back through the inverse of the copy's matrix. Other pages as they are."""
    if "matrix" not in page:
        return page, lines
    inverse = np.linalg.inv(np.asarray(page["matrix"], np.float64))
    return page["upright"], [(text, confidence, move_box(box, inverse)) for text, confidence, box in lines]


def score_dataset(ds: Dataset, system: str, show: bool = False, min_confidence: float = 0.0) -> Cell | None:
    """Score the saved predictions of `system` on the dataset's pages (those it has), ignoring predicted
    lines whose confidence is below `min_confidence` (to tune a drop threshold without re-running OCR)."""
    preds = read_preds(ds.name, system)
    if preds is None:
        return None
    scores, failed, seconds = [], 0, 0.0
    for page in ds.pages:
        rec = preds.get(page["image"])
        if rec is None:
            continue
        kept = [ln for ln in rec["lines"] if ln["confidence"] >= min_confidence]
        lines = [(ln["text"], ln["confidence"], ln["box"]) for ln in kept]
        page, lines = upright_frame(page, lines)
        scores.append(score_page(page, lines, ds.casefold))
        failed += "error" in rec
        seconds += rec["seconds"]
        if show:
            show_errors(system, ds.name, page, lines, ds.casefold)
    return Cell(total(scores), len(ds.pages), failed, seconds)


def show_errors(system: str, dataset: str, page: dict, lines: list, casefold: bool) -> None:
    """Print every GT line the system got wrong and the invented text: for spotting label quirks."""
    results, unmatched = align_page(page, lines, casefold)
    for r in results:
        if r.distance:
            print(f"{system}\t{dataset}\t{page['image']}\tGT {r.label!r}\tOCR {r.predicted!r}")
    for text in unmatched:
        print(f"{system}\t{dataset}\t{page['image']}\tinvented {text!r}")


def fmt_main(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    s = cell.score
    text = f"{100 * s.cer:.2f} % / {100 * s.exact_share:.1f} %"
    return text + coverage_note(cell)


def fmt_spaced(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    return f"{100 * cell.score.spaced_cer:.2f} %" + coverage_note(cell)


def fmt_detail(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    s = cell.score
    per_page = cell.seconds / s.pages if s.pages else 0.0
    return (
        f"{100 * s.missed_share:.1f} % / {100 * s.unmatched_share:.1f} % / {per_page:.2f} s"
        + coverage_note(cell)
    )


def coverage_note(cell: Cell) -> str:
    notes = []
    if cell.score.pages != cell.wanted:
        notes.append(f"{cell.score.pages}/{cell.wanted} pages")
    if cell.failed:
        notes.append(f"{cell.failed} failed")
    return f" ({', '.join(notes)})" if notes else ""


def render(datasets: list[Dataset], systems: list[str], cells: dict, errors: dict[str, str]) -> str:
    """The markdown report: a provenance header and two tables (rows: systems, columns: datasets)."""
    head = "| system | " + " | ".join(f"{d.name} ({len(d.pages)} p.)" for d in datasets) + " |"
    rule = "|---" * (len(datasets) + 1) + "|"

    def rows(fmt) -> list[str]:
        out = []
        for name in systems:
            if name in errors:
                out.append(f"| {name} | " + " | ".join(["not run"] * len(datasets)) + " |")
            else:
                out.append(
                    f"| {name} | " + " | ".join(fmt(cells.get((d.name, name))) for d in datasets) + " |"
                )
        return out

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Accuracy: end-to-end CER",
        "",
        f"Run {when} on {platform.node()} ({platform.machine()}, Python {platform.python_version()}): "
        f"`{command_line('bench/accuracy.py')}`. Metric: shared/notes/metric.md "
        "(NFKC, whitespace removed, case-folded for SROIE). Lower CER is better.",
        "",
        "CER / exact-line accuracy:",
        "",
        head,
        rule,
        *rows(fmt_main),
        "",
        "Space-aware CER (word breaks kept: whitespace runs one space, kept unless next to CJK, so numbers "
        "and words read run together count as wrong):",
        "",
        head,
        rule,
        *rows(fmt_spaced),
        "",
        "Missed share (GT chars in lines that got no prediction) / invented share (chars of predictions "
        "matched to no GT line; both already inside the CER) / wall seconds per page:",
        "",
        head,
        rule,
        *rows(fmt_detail),
    ]
    if errors:
        parts += ["", "Not run:", ""] + [f"- {name}: {msg}" for name, msg in errors.items()]
    return "\n".join(parts) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help="comma-separated dataset names")
    ap.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help="comma-separated: ocrq-<pack>-<mode>[group.field=value,...], rapidocr, tesseract",
    )
    ap.add_argument("--limit", type=int, default=None, help="first N pages of each dataset")
    ap.add_argument(
        "--degrade", default="", help="also synth_zh_docs degraded by these kinds (blur2,lowres,...)"
    )
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT, help="folder holding the datasets")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (ocrq, rapidocr)")
    ap.add_argument("--rescore", action="store_true", help="score saved predictions; run no OCR")
    ap.add_argument("--show", action="store_true", help="print each wrong line (GT vs OCR) to stdout")
    ap.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        help="score only predicted lines at least this confident (sweep a drop threshold with --rescore)",
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "accuracy.md")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    names = [n for n in a.datasets.split(",") if n]
    names += [f"synth_zh_docs_{k}" for k in a.degrade.split(",") if k and f"synth_zh_docs_{k}" not in names]
    datasets = [load(n, a.data_root, a.limit) for n in names]
    systems = split_systems(a.systems)
    errors: dict[str, str] = {}
    if not a.rescore:
        for name in systems:
            log(f"building {name} ...")
            try:
                system = make_system(name, a.threads)
            except Exception as exc:  # e.g. the ocrq engine is not written yet: run the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                log(f"[{name}] not run: {errors[name]}")
                continue
            for ds in datasets:
                run_ocr(system, ds)
            del system
    cells = {
        (d.name, s): score_dataset(d, s, a.show, a.min_confidence)
        for d in datasets
        for s in systems
        if s not in errors
    }
    report = render(datasets, systems, cells, errors)
    print(report)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(report, encoding="utf-8")
    log(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
