"""A second look at unsure lines: recognise another version of a line and keep the more likely reading.

Only lines whose first reading has low confidence are retried, so a clean page pays (almost) nothing.
The other version has the crop's shape, so it is resized to the same width and gives the same number of
CTC columns: the best-path log-probabilities (``Reading.path_score``) of the two readings compare
directly. The mean probability of the kept characters (``confidence``) would not do: it rises when a
version simply drops the unsure characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ocrq.ocr.ctc import Reading
from ocrq.ocr.recognize import Recognition


class Recognizer(Protocol):
    def __call__(self, crops: Sequence[np.ndarray], seed_resize: bool = False) -> Recognition: ...


def unsure_lines(readings: Sequence[Reading], below: float, limit: int) -> list[int]:
    """Indices of readings with confidence below ``below``, least confident first, at most ``limit``."""
    unsure = [i for i, r in enumerate(readings) if r.confidence < below]
    return sorted(unsure, key=lambda i: readings[i].confidence)[:limit]


def second_look(
    recognizer: Recognizer,
    readings: Sequence[Reading],
    indices: Sequence[int],
    other_version: Callable[[int], np.ndarray],
) -> tuple[list[Reading], int, Recognition]:
    """``readings`` with line i replaced by the reading of ``other_version(i)`` (an (h, w, 3) uint8 crop of
    the same shape as line i's) for each i in ``indices`` whose best path is more likely; how many were
    replaced; and the second recognition (its time). The other versions are read in one batched call."""
    out = list(readings)
    if not indices:
        return out, 0, Recognition([])
    second = recognizer([other_version(i) for i in indices])
    replaced = 0
    for i, reading in zip(indices, second.readings, strict=True):
        if reading.text.strip() and reading.path_score > out[i].path_score:
            out[i] = reading
            replaced += 1
    return out, replaced, second
