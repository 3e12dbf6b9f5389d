"""What the quality measures (ocrq/ocr/quality.py, bench/page_measures.py) say about each dataset: where
the auto thresholds come from.

    python bench/quality.py [--datasets a,b] [--degrade blur2,motion] [--limit 20] [--pack ppocrv6]

Per dataset: page measures (median grey, Laplacian variance, edge sharpness of the whole page), the pages
that count as dark-ground (median grey < the auto threshold), and line measures over the lines the
detector finds (edge sharpness percentiles, share of lines the auto rule calls blurred, median line
height in pixels). Lines are detected with the pack's default settings, one page at a time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.data import DEFAULT_DATA_ROOT, DEFAULT_DATASETS, load  # noqa: E402
from bench.page_measures import measure_page, text_height  # noqa: E402
from ocrq.config import Settings  # noqa: E402
from ocrq.ocr import OcrEngine  # noqa: E402
from ocrq.ocr.auto import AutoParams, line_sharpness  # noqa: E402
from ocrq.ocr.geometry import crop_line  # noqa: E402
from ocrq.ocr.quality import median_grey  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    ap.add_argument("--degrade", default="blur2,motion,lowres,jpeg,dark")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--pack", default="ppocrv6")
    a = ap.parse_args(argv)
    names = [n for n in a.datasets.split(",") if n]
    names += [f"synth_zh_docs_{k}" for k in a.degrade.split(",") if k]
    engine = OcrEngine.from_settings(Settings(ort_threads=2, model_pack=a.pack))
    auto = AutoParams()
    print(
        "| dataset | pages | median grey p50 | dark-ground pages | Laplacian var. p50 | page sharpness p50 "
        "| line sharpness p10 / p50 / p90 | lines blurred | line height p50 (px) |"
    )
    print("|---" * 9 + "|")
    for name in names:
        ds = load(name, DEFAULT_DATA_ROOT, a.limit)
        greys, laplacians, page_sharp, line_sharp, heights = [], [], [], [], []
        for page in ds.pages:
            image = cv2.imread(str(ds.image_path(page)), cv2.IMREAD_COLOR)
            greys.append(median_grey(image))
            quality = measure_page(image, max_side=4096)
            laplacians.append(quality.blur)
            page_sharp.append(quality.sharpness)
            boxes = engine.detector(image).boxes
            line_sharp += [line_sharpness(crop_line(image, box)) for box in boxes]
            heights.append(text_height(boxes))
        s = np.asarray(line_sharp)
        dark = sum(g < auto.invert_below for g in greys)
        p10, p50, p90 = np.percentile(s, [10, 50, 90])
        print(
            f"| {name} | {len(ds.pages)} | {np.median(greys):.0f} | {dark} | {np.median(laplacians):.0f} "
            f"| {np.median(page_sharp):.2f} | {p10:.2f} / {p50:.2f} / {p90:.2f} "
            f"| {100 * np.mean(s < auto.sharpen_below):.0f} % | {np.median(heights):.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
