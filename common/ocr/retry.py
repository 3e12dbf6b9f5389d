"""A second look at unsure lines: recognise another version of a line and keep the more likely reading.

Only lines whose first reading has low confidence are retried, so a clean page pays (almost) nothing.
The other version has the crop's shape, so it is resized to the same width and gives the same number of
CTC columns: the best-path log-probabilities (``Reading.path_score``) of the two readings compare
directly. The mean probability of the kept characters (``confidence``) would not do: it rises when a
version simply drops the unsure characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ocrq.ocr.ctc import Reading
from ocrq.ocr.recognize import TextRecognizer


def unsure_lines(readings: Sequence[Reading], below: float, limit: int) -> list[int]:
    """Indices of readings with confidence below ``below``, least confident first, at most ``limit``."""
    unsure = [i for i, r in enumerate(readings) if r.confidence < below]
    return sorted(unsure, key=lambda i: readings[i].confidence)[:limit]


def second_look(
    recognizer: TextRecognizer,
    readings: Sequence[Reading],
    indices: Sequence[int],
    other_version: Callable[[int], np.ndarray],
) -> tuple[list[Reading], int]:
    """``readings`` with line i replaced by the reading of ``other_version(i)`` (an (h, w, 3) uint8 crop of
    the same shape as line i's) for each i in ``indices`` whose best path is more likely; and how many
    were replaced. The other versions are read in one batched call."""
    out = list(readings)
    if not indices:
        return out, 0
    lines = [recognizer.prepare(other_version(i)) for i in indices]
    replaced = 0
    for i, reading in zip(indices, recognizer.read_prepared(lines), strict=True):
        if reading.text.strip() and reading.path_score > out[i].path_score:
            out[i] = reading
            replaced += 1
    return out, replaced


def timed_second_look(
    recognizer: TextRecognizer,
    readings: Sequence[Reading],
    below: float,
    limit: int,
    other_version: Callable[[int], np.ndarray],
) -> tuple[list[Reading], float]:
    """``second_look`` on the unsure lines; returns the readings and the seconds it took."""
    start = time.perf_counter()
    out, _ = second_look(recognizer, readings, unsure_lines(readings, below, limit), other_version)
    return out, time.perf_counter() - start
