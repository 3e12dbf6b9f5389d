"""CTC best-path (greedy) decoding and the charset convention of CTC line recognisers.

Convention: a recogniser outputs (N, T, C) per-column class probabilities; class 0 is the CTC blank,
classes 1..len(charset) are the charset's characters in order, and when C == len(charset) + 2 the last
class is a space (PaddleOCR's ``use_space_char``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BLANK = 0


@dataclass(frozen=True)
class Reading:
    """A decoded line: its text and the mean probability of the characters kept (0 when empty).

    ``path_score`` is the mean log-probability of the best path over the line's own columns (blanks
    included). Unlike ``confidence`` it does not rise when an unsure character is dropped, so it is what
    compares two readings of the same line (``ocrq.ocr.retry``).
    """

    text: str
    confidence: float
    path_score: float = 0.0
    # Where each character of ``text`` was read: its CTC column (0..columns-1), and its probability.
    positions: tuple[int, ...] = ()
    probabilities: tuple[float, ...] = ()
    columns: int = 0  # the columns that belong to the line (the rest of the input was padding)
    width_columns: float = 0.0  # the line's width in columns, unrounded: where the crop's right edge falls


def class_table(charset: Sequence[str], num_classes: int) -> list[str]:
    """Index -> character for a model with ``num_classes`` outputs, following the module's convention.

    Accepts a charset without the blank (PaddleOCR dict files, ONNX ``character`` metadata), with or
    without the trailing space, or an index-aligned list whose entry 0 is a blank placeholder.
    """
    chars = list(charset)
    if num_classes == len(chars) + 2:
        return ["", *chars, " "]
    if num_classes == len(chars) + 1:
        return ["", *chars]
    if num_classes == len(chars):  # index-aligned: entry 0 stands for the blank
        return ["", *chars[1:]]
    raise ValueError(
        f"the charset has {len(chars)} entries but the model outputs {num_classes} classes; "
        "expected classes = blank + charset (+ optional space)"
    )


def greedy_decode(
    probs: np.ndarray, table: Sequence[str], lengths: Sequence[int] | None = None
) -> list[Reading]:
    """Best-path CTC decoding of (N, T, C) probabilities: argmax per column, merge repeats, drop blanks.

    Confidence is the mean of the kept characters' probabilities, in [0, 1]. ``lengths`` (N,) is how many
    leading columns belong to each line (the rest is batch padding); only they make ``path_score``. Each
    reading keeps the column and probability of every character (``positions``, ``probabilities``): the
    alignment that places characters and words along the line.
    """
    if probs.ndim != 3:
        raise ValueError(f"expected (N, T, C) probabilities, got shape {probs.shape}")
    best = probs.argmax(axis=2)  # (N, T)
    best_prob = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]  # (N, T)
    keep = best != BLANK
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    if lengths is None:
        lengths = [probs.shape[1]] * probs.shape[0]
    log_best = np.log(np.maximum(best_prob, 1e-6))
    readings = []
    for indices, scores, logs, mask, length in zip(best, best_prob, log_best, keep, lengths, strict=True):
        kept = indices[mask]
        text = "".join(table[i] for i in kept)
        confidence = float(np.clip(scores[mask].mean(), 0.0, 1.0)) if kept.size else 0.0
        columns = max(1, min(int(length), len(logs)))
        path_score = float(logs[:columns].mean())
        readings.append(Reading(text, confidence, path_score, tuple(int(c) for c in np.flatnonzero(mask)),
                                tuple(float(p) for p in scores[mask]), columns))
    return readings


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax, for recognisers whose graph ends at the logits."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)
    return shifted
