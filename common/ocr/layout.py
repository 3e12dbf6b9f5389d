"""Reading order and blocks: a page's lines grouped into columns and paragraphs, pure functions on boxes.

A recursive XY-cut that knows tables from columns. A region is cut into columns at vertical gutters (a
gap in its lines' x-projection at least ``gutter`` line heights wide) only when every column it makes is
text: wide (``column_width`` line heights), of several lines, most of them filling it. The cells of a
table are narrow, so a table is not cut into columns, and its rows read left to right; so are a
receipt's labels and amounts.
Where no such cut exists the region is cut across into bands (its lines' y-projection), and runs of bands
that share a gutter (rows of a multi-column part) are set apart from the bands that span the page (a
title, a full-width paragraph) and each read on its own. A region that cuts no further is a leaf, read
top to bottom and left to right within a row (``ocrq.ocr.geometry.reading_order``), and split into
blocks where a blank line or a change of text size falls between its rows.

Boxes are levelled by the page's skew first, so a tilted page cuts as it would upright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocrq.ocr.geometry import reading_order, skew


@dataclass(frozen=True)
class LayoutParams:
    """Distances in median line heights (measured in bench/README.md, "Reading order (issue 15)")."""

    gutter: float = 0.8  # the narrowest gap between two columns
    column_width: float = 6.0  # the narrowest column of text (table cells are narrower)
    column_lines: int = 2  # the fewest lines a column holds
    column_fill: float = 0.5  # ...and the median of its lines' widths, as a share of its width
    band_overlap: float = 0.25  # lines overlapping by more than this (vertically) are in one band
    section_gap: float = 1.2  # a gap across the region this tall ends a run of bands (a new section)
    paragraph_gap: float = 0.8  # a gap between rows this tall starts a new block
    size_change: float = 1.4  # a row this much taller or shorter than the block's starts a new block


@dataclass(frozen=True)
class Layout:
    """The lines' reading order (indices into the boxes given) and blocks (lists of those indices, in
    reading order; together they are ``order``)."""

    order: list[int]
    blocks: list[list[int]]


def levelled_rects(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 of (N, 4, 2) boxes turned level by the page's skew."""
    angle = skew(boxes)
    cos, sin = np.cos(-angle), np.sin(-angle)
    x = boxes[:, :, 0] * cos - boxes[:, :, 1] * sin
    y = boxes[:, :, 0] * sin + boxes[:, :, 1] * cos
    return np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1)


def x_chunks(rects: np.ndarray, members: list[int], min_gap: float) -> list[list[int]]:
    """``members`` split at the gaps of at least ``min_gap`` in their x-projection, left to right."""
    chunks: list[list[int]] = []
    reach = -np.inf
    for i in sorted(members, key=lambda j: rects[j, 0]):
        if not chunks or rects[i, 0] - reach >= min_gap:
            chunks.append([i])
        else:
            chunks[-1].append(i)
        reach = max(reach, rects[i, 2]) if len(chunks[-1]) > 1 else rects[i, 2]
    return chunks


def gutters(rects: np.ndarray, members: list[int], min_gap: float) -> list[tuple[float, float]]:
    """The (x0, x1) gaps of at least ``min_gap`` between ``members``' x-chunks, left to right."""
    chunks = x_chunks(rects, members, min_gap)
    return [(float(rects[a, 2].max()), float(rects[b, 0].min())) for a, b in zip(chunks, chunks[1:],
                                                                                  strict=False)]


def keeps_gutters(old: list[tuple[float, float]], new: list[tuple[float, float]]) -> bool:
    """Whether every gutter of ``old`` is still open (overlapped by one of ``new``)."""
    return all(any(a < y and x < b for x, y in new) for a, b in old)


def columns(rects: np.ndarray, members: list[int], height: float, p: LayoutParams) -> list[list[int]]:
    """``members`` as columns of text left to right, or one column when the region has no such cut: every
    chunk between gutters must be text (wide, of several lines, most of them filling it), which the
    narrow cells of a table, or amounts beside their labels, are not."""
    chunks = x_chunks(rects, members, p.gutter * height)

    def is_text(chunk: list[int]) -> bool:
        width = rects[chunk, 2].max() - rects[chunk, 0].min()
        filled = float(np.median(rects[chunk, 2] - rects[chunk, 0]))
        return (width >= p.column_width * height and len(chunk) >= p.column_lines
                and filled >= p.column_fill * width)

    if len(chunks) > 1 and all(is_text(c) for c in chunks):
        return chunks
    return [members]


def bands(rects: np.ndarray, members: list[int], height: float, p: LayoutParams) -> list[list[int]]:
    """``members`` split across at the gaps of their y-projection, top to bottom."""
    out: list[list[int]] = []
    reach = -np.inf
    for i in sorted(members, key=lambda j: rects[j, 1]):
        if not out or rects[i, 1] >= reach - p.band_overlap * height:
            out.append([i])
            reach = rects[i, 3]
        else:
            out[-1].append(i)
            reach = max(reach, rects[i, 3])
    return out


def sections(rects: np.ndarray, members: list[int], height: float, p: LayoutParams) -> list[list[int]]:
    """Runs of bands: a run with gutters goes on while the bands keep every one of them open (a table row
    or a full-width line closes one), a run without takes bands without one; a wide gap across the region
    ends any run."""
    min_gap = p.gutter * height
    runs: list[list[int]] = []
    open_gutters: list[tuple[float, float]] = []
    bottom = -np.inf
    for band in bands(rects, members, height, p):
        top = rects[band, 1].min()
        if runs and top - bottom < p.section_gap * height:
            joined = runs[-1] + band
            if open_gutters:
                now = gutters(rects, joined, min_gap)
                if keeps_gutters(open_gutters, now):
                    runs[-1], open_gutters = joined, now
                    bottom = max(bottom, rects[band, 3].max())
                    continue
            elif not gutters(rects, band, min_gap):
                runs[-1] = joined
                bottom = max(bottom, rects[band, 3].max())
                continue
        runs.append(list(band))
        open_gutters = gutters(rects, band, min_gap)
        bottom = rects[band, 3].max()
    return runs


def regions(rects: np.ndarray, members: list[int], height: float, p: LayoutParams) -> list[list[int]]:
    """The leaves of the recursive cut of ``members``, in reading order."""
    cols = columns(rects, members, height, p)
    if len(cols) > 1:
        return [leaf for col in cols for leaf in regions(rects, col, height, p)]
    runs = sections(rects, members, height, p)
    if len(runs) == 1:
        return [members]
    return [leaf for run in runs for leaf in regions(rects, run, height, p)]


def leaf_blocks(boxes: np.ndarray, rects: np.ndarray, leaf: list[int], height: float,
                p: LayoutParams) -> list[list[int]]:
    """A leaf's lines in reading order, split into blocks at blank lines and changes of text size."""
    order = [leaf[k] for k in reading_order(boxes[leaf])]
    blocks: list[list[int]] = []
    row_bottom, row_top, block_height = -np.inf, -np.inf, 0.0
    for i in order:
        top, bottom = rects[i, 1], rects[i, 3]
        tall = bottom - top
        same_row = blocks and top < row_bottom - p.band_overlap * min(tall, row_bottom - row_top)
        if same_row:
            blocks[-1].append(i)
            row_bottom = max(row_bottom, bottom)
            continue
        ratio = max(tall, 1.0) / max(block_height, 1.0)
        if (not blocks or top - row_bottom >= p.paragraph_gap * height
                or not 1 / p.size_change <= ratio <= p.size_change):
            blocks.append([i])
            block_height = tall
        else:
            blocks[-1].append(i)
        row_top, row_bottom = top, bottom
    return blocks


def layout(boxes: np.ndarray, params: LayoutParams | None = None) -> Layout:
    """The reading order and blocks of (N, 4, 2) line boxes (clockwise from top-left, an upright page)."""
    p = params or LayoutParams()
    if len(boxes) == 0:
        return Layout([], [])
    boxes = np.asarray(boxes, dtype=np.float64)
    rects = levelled_rects(boxes)
    height = float(max(np.median(rects[:, 3] - rects[:, 1]), 1.0))
    blocks = [block for leaf in regions(rects, list(range(len(boxes))), height, p)
              for block in leaf_blocks(boxes, rects, leaf, height, p)]
    return Layout([i for block in blocks for i in block], blocks)


def top_to_bottom(boxes: np.ndarray) -> Layout:
    """Every line in one block, top to bottom (the order before columns were found): vertical text, and
    the baseline of the reading-order bench."""
    order = reading_order(np.asarray(boxes, dtype=np.float64)) if len(boxes) else []
    return Layout(order, [order] if order else [])
