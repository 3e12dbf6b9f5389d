"""Line-level filter experiments: the same detected lines recognised under several filters, scored per line.

    python bench/lines.py [--pack ppocrv6] [--datasets a,b] [--degrade blur2,motion] [--limit 12]
                          [--filters sharpen_crop,wiener] [--sharpness-below 0.8] [--retry-below 0.9]

End-to-end runs (bench/accuracy.py) mix detection, recognition and the drop threshold; this isolates the
recogniser's input. Each page is detected once with the pack's defaults, and every detected line that is
the only prediction of exactly one ground-truth line is kept with that line's label (cached in
bench/out/lines/). Per dataset and filter it prints the line CER (sum of edit distances / label chars):

- ``all``: the filter applied to every line;
- ``blurred``: applied only to lines whose edge sharpness is below ``--sharpness-below`` (the auto rule);
- ``retry``: applied to lines read with confidence below ``--retry-below``, keeping the reading with the
  higher best-path log-probability (the second look of common/ocr/retry.py);
- ``oracle``: the better of the two readings by the label (an upper bound for any selection rule).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from bench.data import DEFAULT_DATA_ROOT, OUT, load  # noqa: E402
from bench.metric import assign, normalise  # noqa: E402
from ocrq.config import Settings  # noqa: E402
from ocrq.ocr import OcrEngine  # noqa: E402
from ocrq.ocr.enhance import unsharp_mask  # noqa: E402
from ocrq.ocr.geometry import crop_line  # noqa: E402
from ocrq.ocr.quality import edge_sharpness  # noqa: E402

Filter = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (crop (h, w, 3), prepared (48, W, 3)) -> line


def stretch_contrast(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Grey levels between the ``low`` and ``high`` percentiles mapped to 0..255."""
    lo, hi = np.percentile(image, [low, high])
    if hi - lo < 1.0:
        return image
    scale = 255.0 / (hi - lo)
    return cv2.convertScaleAbs(image, alpha=scale, beta=-lo * scale)


def wiener_deblur(image: np.ndarray, sigma: float, noise: float = 0.05) -> np.ndarray:
    """Wiener deconvolution of a Gaussian blur of width ``sigma`` px, (H, W, 3) uint8 -> same."""
    pad = int(np.ceil(3 * sigma))
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE).astype(np.float32)
    h, w = padded.shape[:2]
    ys, xs = np.arange(h) - h // 2, np.arange(w) - w // 2
    psf = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2.0 * sigma * sigma))
    otf = np.fft.rfft2(np.fft.ifftshift(psf / psf.sum()))
    gain = np.conj(otf) / (np.abs(otf) ** 2 + noise)
    out = np.stack([np.fft.irfft2(np.fft.rfft2(padded[..., c]) * gain, s=(h, w)) for c in range(3)], axis=2)
    return np.clip(out[pad : h - pad, pad : w - pad], 0, 255).astype(np.uint8)


def _at_line_size(crop: np.ndarray, line: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.resize(crop, (line.shape[1], line.shape[0]), interpolation=interpolation)


def _grey(line: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(line, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def _clahe(line: np.ndarray) -> np.ndarray:
    grey = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(cv2.cvtColor(line, cv2.COLOR_BGR2GRAY))
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


# Filters on the crop as detected ("crop") or on the line at the recogniser's height (the rest).
FILTERS: dict[str, Filter] = {
    "sharpen_crop": lambda c, ln: _at_line_size(unsharp_mask(c, 1.5, 1.0), ln),
    "sharpen_crop_1x1": lambda c, ln: _at_line_size(unsharp_mask(c, 1.0, 1.0), ln),
    "sharpen_crop_2x1": lambda c, ln: _at_line_size(unsharp_mask(c, 2.0, 1.0), ln),
    "sharpen_crop_1.5x1.5": lambda c, ln: _at_line_size(unsharp_mask(c, 1.5, 1.5), ln),
    "sharpen_line_2x1": lambda c, ln: unsharp_mask(ln, 2.0, 1.0),
    "sharpen_line_3x1": lambda c, ln: unsharp_mask(ln, 3.0, 1.0),
    "cubic": lambda c, ln: _at_line_size(c, ln, cv2.INTER_CUBIC),
    "cubic_sharpen_line": lambda c, ln: unsharp_mask(_at_line_size(c, ln, cv2.INTER_CUBIC), 2.0, 1.0),
    "stretch": lambda c, ln: stretch_contrast(ln),
    "clahe": lambda c, ln: _clahe(ln),
    "grey": lambda c, ln: _grey(ln),
    "smooth": lambda c, ln: cv2.GaussianBlur(ln, (0, 0), 1.0),
    "bilateral": lambda c, ln: cv2.bilateralFilter(ln, 5, 40, 5),
    "wiener_1.5": lambda c, ln: wiener_deblur(ln, 1.5),
    "wiener_3": lambda c, ln: wiener_deblur(ln, 3.0),
    "otsu": lambda c, ln: cv2.cvtColor(
        cv2.threshold(cv2.cvtColor(ln, cv2.COLOR_BGR2GRAY), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1],
        cv2.COLOR_GRAY2BGR,
    ),
}


def collect(engine: OcrEngine, name: str, limit: int | None) -> list[tuple[np.ndarray, str]]:
    """(crop, normalised label) of every detected line that alone matches one GT line; cached on disk."""
    path = OUT / "lines" / f"{engine.pack.name}_{name}_{limit or 'all'}.pkl"
    if path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    ds = load(name, DEFAULT_DATA_ROOT, limit)
    items = []
    for page in ds.pages:
        image = cv2.imread(str(ds.image_path(page)), cv2.IMREAD_COLOR)
        boxes = engine.detector(image).boxes
        gt = [ln for ln in page["lines"] if "dup_of" not in ln]
        owners = assign([b.tolist() for b in boxes], [ln["box"] for ln in gt])
        counts = Counter(owners)
        for box, owner in zip(boxes, owners, strict=True):
            if owner >= 0 and counts[owner] == 1:
                items.append((crop_line(image, box), normalise(gt[owner]["text"], ds.casefold)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(items, fh)
    return items


def distances(readings, labels: list[str], casefold: bool) -> np.ndarray:
    """(N,) edit distances between readings and normalised labels."""
    return np.array(
        [Levenshtein.distance(normalise(r.text, casefold), t) for r, t in zip(readings, labels, strict=True)]
    )


def pct(d: np.ndarray, chars: int) -> str:
    return f"{100 * d.sum() / chars:6.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", default="ppocrv6")
    ap.add_argument("--datasets", default="synth_zh_docs_mix,synth_zh_docs,sroie2019_task1")
    ap.add_argument("--degrade", default="blur2,motion,lowres,jpeg,dark")
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--filters", default="sharpen_crop,sharpen_line_2x1,cubic,stretch,grey,smooth,wiener_1.5")
    ap.add_argument("--sharpness-below", type=float, default=0.8)
    ap.add_argument("--retry-below", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    names = [n for n in a.datasets.split(",") if n]
    names += [f"synth_zh_docs_{k}" for k in a.degrade.split(",") if k]
    engine = OcrEngine.from_settings(Settings(ort_threads=a.threads, model_pack=a.pack))
    rec = engine.recognizer
    print(
        f"pack {a.pack}, first {a.limit} pages; line CER %: all / blurred (sharpness < {a.sharpness_below})"
        f" / retry (confidence < {a.retry_below}, best path) / oracle"
    )
    for name in names:
        items = collect(engine, name, a.limit)
        crops, labels = [c for c, _ in items], [t for _, t in items]
        casefold = name.startswith("sroie")
        chars = max(1, sum(len(t) for t in labels))
        prepared = [rec.prepare(c) for c in crops]
        first = rec.read_prepared(prepared).readings
        d0 = distances(first, labels, casefold)
        s0 = np.array([r.path_score for r in first])
        c0 = np.array([r.confidence for r in first])
        sharp = np.array([edge_sharpness(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY)) for c in crops])
        print(
            f"\n{name}: {len(items)} lines, {chars} chars, as detected {pct(d0, chars)}; "
            f"edge sharpness p10/p50/p90 {np.round(np.percentile(sharp, [10, 50, 90]), 2).tolist()}"
        )
        for f in a.filters.split(","):
            filtered = [FILTERS[f](c, ln) for c, ln in zip(crops, prepared, strict=True)]
            rs = rec.read_prepared(filtered).readings
            d = distances(rs, labels, casefold)
            s = np.array([r.path_score for r in rs])
            blurred = np.where(sharp < a.sharpness_below, d, d0)
            retry = np.where((c0 < a.retry_below) & (s > s0), d, d0)
            cells = [pct(x, chars) for x in (d, blurred, retry, np.minimum(d, d0))]
            print(f"  {f:22s} " + " / ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
