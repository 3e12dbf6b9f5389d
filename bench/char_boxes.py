"""Where the engine's character boxes fall against where the characters were drawn.

    python bench/char_boxes.py [--threads 2]

Draws mixed Chinese/English lines at three sizes (Noto Sans CJK, the tests' font), reads them with
``chars=True``, and compares each character's box with its glyph's ink box across the line: the mean
offset of the centres in CTC columns (a column is 1/6 of the line's height), which is what
``ocrq.ocr.words.SPIKE_OFFSET`` corrects, and the horizontal IoU (mean and 10th percentile).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `common` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from tests.support.render import encode, font  # noqa: E402

TEXTS = ["Hello world 你好 2024", "The quick brown fox jumps", "数据处理与分析报告",
         "Invoice No. 12345 total", "混合 mixed 文本 text 测试"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    from ocrq.config import Settings
    from ocrq.ocr import OcrEngine

    engine = OcrEngine.from_settings(Settings(ort_threads=args.threads))
    offsets, ious, skipped = [], [], 0
    for size in (20, 28, 40):
        face = font(size)
        for text in TEXTS:
            image = Image.new("RGB", (int(face.getlength(text)) + 80, size * 3), "white")
            draw = ImageDraw.Draw(image)
            draw.text((40, size), text, fill="black", font=face)
            drawn = [draw.textbbox((40 + face.getlength(text[:i]), size), ch, font=face)
                     for i, ch in enumerate(text) if ch != " "]
            chars = [c for line in engine.run(encode(image), chars=True).lines for c in line.chars or []]
            if "".join(c.text for c in chars) != text.replace(" ", ""):
                skipped += 1  # misread: no one-to-one pairing
                continue
            for char, (x0, _, x1, _) in zip(chars, drawn, strict=True):
                a, b = char.box[0][0], char.box[1][0]
                column = (char.box[3][1] - char.box[0][1]) / 6
                offsets.append(((a + b) / 2 - (x0 + x1) / 2) / column)
                ious.append(max(0.0, min(b, x1) - max(a, x0)) / (max(b, x1) - min(a, x0)))
    print(f"{len(offsets)} characters ({skipped} lines misread, left out): centre offset "
          f"{np.mean(offsets):+.2f} columns (median {np.median(offsets):+.2f}); horizontal IoU mean "
          f"{np.mean(ious):.2f}, 10th percentile {np.percentile(ious, 10):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
