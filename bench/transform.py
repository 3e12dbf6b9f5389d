"""Geometric copies of a labelled dataset: pages as phones and scanners deliver them, boxes moved along.

    python bench/transform.py --src DIR --out DIR2 --kind KIND [--seed S]

KIND:
  rot90, rot180, rot270  the page turned 90/180/270 degrees clockwise (exact, no resampling)
  tilt                   turned by 4-12 degrees either way, on a canvas grown to hold it (background colour)
  photo                  a phone photo: perspective (corners moved 2-6 % of the page), a tilt of 1-4
                         degrees, uneven light (a gradient down to 55-85 %), Gaussian blur sigma 0.8, JPEG 60
  flipmix                a third of the lines (at random) turned upside down where they stand, the rest
                         upright: what the per-line classifier is for

Every line's four box points go through the same transform as the pixels, so the labels stay true. Each
record also keeps the 3x3 ``matrix`` (source -> copy) and the ``upright`` source record: bench/accuracy.py
scores a copy in the upright frame (predicted boxes mapped back), where the metric's "left to right" and
its box tests mean what they mean on the source, so a turned page is scored like the upright one. The
randomness of a page comes from sha256(seed, kind, image path), so a copy does not depend on order.
Datasets are read in place and written under bench/out/ (never into the repository).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

KINDS = ("rot90", "rot180", "rot270", "tilt", "photo", "flipmix")


def page_rng(seed: int, kind: str, rel: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{kind}:{rel}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def background(image: np.ndarray) -> tuple[int, int, int]:
    """The median colour of an (H, W, 3) page's one-pixel border: what a grown canvas is filled with."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))  # type: ignore[return-value]


def rotation(image: np.ndarray, degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """(2x3 affine turning the page by ``degrees`` clockwise about its centre onto a canvas that holds all
    of it, (W, H) of that canvas)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos)))
    matrix[0, 2] += size[0] / 2 - w / 2
    matrix[1, 2] += size[1] / 2 - h / 2
    return matrix, size


def flip_some_lines(image: np.ndarray, lines: list[dict], rng: np.random.Generator) -> np.ndarray:
    """The page with about a third of its lines' boxes turned 180 degrees in place (boxes unchanged)."""
    out = image.copy()
    for line in lines:
        if rng.random() < 1 / 3:
            box = np.asarray(line["box"], np.float64)
            x0, y0 = np.floor(box.min(0)).astype(int).clip(0)
            x1, y1 = np.ceil(box.max(0)).astype(int)
            out[y0:y1, x0:x1] = cv2.rotate(out[y0:y1, x0:x1].copy(), cv2.ROTATE_180)
    return out


def transform(image: np.ndarray, kind: str, rng: np.random.Generator,
              lines: list[dict] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The transformed (H', W', 3) page and the 3x3 matrix that maps its points."""
    h, w = image.shape[:2]
    if kind == "flipmix":
        return flip_some_lines(image, lines or [], rng), np.eye(3)
    if kind in ("rot90", "rot180", "rot270"):
        turns = {"rot90": cv2.ROTATE_90_CLOCKWISE, "rot180": cv2.ROTATE_180,
                 "rot270": cv2.ROTATE_90_COUNTERCLOCKWISE}[kind]
        matrix = {"rot90": [[0, -1, h], [1, 0, 0]], "rot180": [[-1, 0, w], [0, -1, h]],
                  "rot270": [[0, 1, 0], [-1, 0, w]]}[kind]
        return cv2.rotate(image, turns), np.vstack([np.asarray(matrix, np.float64), [0, 0, 1]])
    fill = background(image)
    if kind == "tilt":
        degrees = float(rng.uniform(4, 12) * rng.choice([-1, 1]))
        affine, size = rotation(image, degrees)
        out = cv2.warpAffine(image, affine, size, flags=cv2.INTER_CUBIC, borderValue=fill)
        return out, np.vstack([affine, [0, 0, 1]])
    if kind == "photo":
        affine, size = rotation(image, float(rng.uniform(1, 4) * rng.choice([-1, 1])))
        tilted = cv2.warpAffine(image, affine, size, flags=cv2.INTER_CUBIC, borderValue=fill)
        tw, th = size
        corners = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]])
        jitter = rng.uniform(0.02, 0.06, size=(4, 2)) * [tw, th]
        inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
        target = (corners + inward * jitter).astype(np.float32)
        perspective = cv2.getPerspectiveTransform(corners, target)
        out = cv2.warpPerspective(tilted, perspective, size, flags=cv2.INTER_CUBIC, borderValue=fill)
        # uneven light: a linear gradient across the page, darkest side at 55-85 %
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
        ramp = (xx / tw - 0.5) * np.cos(angle) + (yy / th - 0.5) * np.sin(angle)
        low = rng.uniform(0.55, 0.85)
        light = low + (1 - low) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        out = np.clip(out.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)
        out = cv2.GaussianBlur(out, (0, 0), 0.8)
        ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 60])
        assert ok
        out = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
        return out, perspective @ np.vstack([affine, [0, 0, 1]])
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")


def move_box(box: list, matrix: np.ndarray) -> list[list[float]]:
    """Four [x, y] points through a 3x3 transform (projective division included)."""
    points = np.hstack([np.asarray(box, np.float64), np.ones((4, 1))]) @ matrix.T
    points = points[:, :2] / points[:, 2:3]
    return [[round(float(x), 1), round(float(y), 1)] for x, y in points]


def transform_dataset(src: Path, out: Path, kind: str, seed: int = 1) -> int:
    """Write ``out`` (labels.jsonl and images) from ``src``; the number of pages."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = [json.loads(line) for line in (src / "labels.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    records = []
    for page in lines:
        image = cv2.imread(str(src / page["image"]), cv2.IMREAD_COLOR)
        moved, matrix = transform(image, kind, page_rng(seed, kind, page["image"]), page["lines"])
        name = Path(page["image"]).with_suffix(".jpg" if kind == "photo" else Path(page["image"]).suffix)
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if name.suffix.lower() in (".jpg", ".jpeg") else []
        cv2.imwrite(str(out / "images" / name.name), moved, params)
        record = {**page, "image": f"images/{name.name}", "width": moved.shape[1], "height": moved.shape[0],
                  "transform": kind, "matrix": matrix.round(8).tolist(), "upright": page}
        record["lines"] = [{**line, "box": move_box(line["box"], matrix)} for line in page["lines"]]
        if page.get("ignore_regions"):
            record["ignore_regions"] = [{**r, "box": move_box(r["box"], matrix)}
                                        for r in page["ignore_regions"]]
        records.append(record)
    with open(out / "labels.jsonl", "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    n = transform_dataset(a.src, a.out, a.kind, a.seed)
    print(f"{n} pages -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
