"""Box geometry: cutting a line out of the page, and putting lines in reading order."""

from __future__ import annotations

import cv2
import numpy as np

VERTICAL = 1.5  # a line this many times taller than wide is vertical text (read top to bottom)


def is_vertical(box: np.ndarray) -> bool:
    """Whether ``crop_line`` reads the (4, 2) ``box`` as vertical text (turned a quarter to read it)."""
    width = max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))
    height = max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))
    return bool(round(height) >= VERTICAL * max(round(width), 1))


def crop_line(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Cut the (4, 2) quadrilateral ``box`` (clockwise from top-left) out of ``image``, upright.

    Axis-aligned boxes are sliced (no resampling); tilted ones are warped. A line taller than 1.5x its width
    is vertical text: it is turned 90 degrees so it reads left to right.
    """
    box = box.astype(np.float32)
    width = int(round(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))))
    height = int(round(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))))
    width, height = max(width, 1), max(height, 1)
    if _is_axis_aligned(box):
        x0, y0 = np.floor(box.min(0)).astype(int)
        x1, y1 = np.ceil(box.max(0)).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        crop = image[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    else:
        target = np.asarray([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        matrix = cv2.getPerspectiveTransform(box, target)
        crop = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_REPLICATE)
    if crop.shape[0] >= VERTICAL * crop.shape[1]:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def edge_fragments(boxes: np.ndarray, image: np.ndarray, ratio: float = 0.6) -> list[bool]:
    """Which of (N, 4, 2) boxes are slivers of a line cut off by the top or bottom border of the (H, W, 3)
    ``image``: the box reaches the border, the line's ink runs into the border row (the cut), and it is
    less than ``ratio`` times as tall as the median of the lines that do not reach a border. Without such
    a line to compare with, nothing is called a fragment. (The rest of a line above a photo's edge would
    otherwise be read as a few characters ahead of the real first line.)"""
    if len(boxes) == 0:
        return []
    h, w = image.shape[:2]
    tops, bottoms = boxes[:, :, 1].min(1), boxes[:, :, 1].max(1)
    heights = bottoms - tops
    at_top, at_bottom = tops <= 2.0, bottoms >= h - 2.0
    inside = heights[~(at_top | at_bottom)]
    if len(inside) == 0:
        return [False] * len(boxes)
    limit = ratio * float(np.median(inside))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    ground = float(np.median(np.concatenate([grey[0], grey[-1]])))
    fragments = []
    for box, top, bottom, tall in zip(boxes, at_top, at_bottom, heights, strict=True):
        x0, x1 = int(max(0, np.floor(box[:, 0].min()))), int(min(w, np.ceil(box[:, 0].max())))
        rows = [grey[0, x0:x1]] * bool(top) + [grey[-1, x0:x1]] * bool(bottom)
        cut = any(row.size and np.mean(np.abs(row.astype(np.float32) - ground) > 60) > 0.02 for row in rows)
        fragments.append(bool(cut and tall < limit))
    return fragments


def border_colour(image: np.ndarray) -> tuple[int, ...]:
    """The median colour of an (H, W, 3) image's outermost rows and columns: its background, mostly."""
    ring = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(len(image[0]) * 2
                                                                                    + len(image) * 2, -1)
    return tuple(int(v) for v in np.median(ring, axis=0))


def crop_with_margin(image: np.ndarray, box: np.ndarray, margin: float = 0.25) -> np.ndarray:
    """``crop_line`` of a box that touches the image's border, given the margin it lacks there.

    A line cut off by the border (a tight crop of one line, a line at the page's very edge) has no blank
    band around its characters, and the recogniser misreads it without one; on each side the box touches,
    it is grown by ``margin`` times its height into a border of the page's own background colour.
    """
    h, w = image.shape[:2]
    grown, touching = margin_frame(box, w, h, margin)
    if not any(touching):
        return crop_line(image, box)
    left, top, right, bottom = (int(np.ceil(margin * _short_side(box))) if t else 0 for t in touching)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                value=border_colour(image))
    return crop_line(padded, grown + np.asarray([left, top], np.float32))


def margin_frame(box: np.ndarray, width: int, height: int,
                 margin: float = 0.25) -> tuple[np.ndarray, tuple[bool, ...]]:
    """The (4, 2) quadrilateral ``crop_with_margin`` cuts out for ``box`` on a (width x height) page, in
    the page's coordinates (beyond its border where it grew), and which sides (left, top, right, bottom)
    touched the border. It is ``box`` itself when none did."""
    x0, y0 = box.min(0)
    x1, y1 = box.max(0)
    touching = (x0 <= 0.5, y0 <= 0.5, x1 >= width - 0.5, y1 >= height - 0.5)
    grown = box.astype(np.float32).copy()
    if not any(touching):
        return grown, touching
    pad = int(np.ceil(margin * _short_side(box)))
    centre = grown.mean(axis=0)
    for i, (x, y) in enumerate(box.astype(np.float32)):  # each corner outward on the sides that touched
        if touching[0] and x <= centre[0]:
            grown[i, 0] = x - pad
        if touching[2] and x > centre[0]:
            grown[i, 0] = x + pad
        if touching[1] and y <= centre[1]:
            grown[i, 1] = y - pad
        if touching[3] and y > centre[1]:
            grown[i, 1] = y + pad
    return grown, touching


def _short_side(box: np.ndarray) -> float:
    return max(1.0, min(float(np.linalg.norm(box[0] - box[3])), float(np.linalg.norm(box[0] - box[1]))))


def _is_axis_aligned(box: np.ndarray, tolerance: float = 0.5) -> bool:
    return (abs(box[0, 1] - box[1, 1]) <= tolerance and abs(box[3, 1] - box[2, 1]) <= tolerance
            and abs(box[0, 0] - box[3, 0]) <= tolerance and abs(box[1, 0] - box[2, 0]) <= tolerance)


def column_order(boxes: np.ndarray) -> list[int]:
    """Indices of (N, 4, 2) boxes of vertical text: columns right to left, top to bottom within one."""
    if len(boxes) == 0:
        return []
    centres = boxes.mean(axis=1)
    widths = np.maximum(boxes[:, :, 0].max(1) - boxes[:, :, 0].min(1), 1.0)
    order = sorted(range(len(boxes)), key=lambda i: (-centres[i, 0], centres[i, 1]))
    columns: list[list[int]] = []
    for i in order:
        a = columns[-1][0] if columns else None  # the column's first box
        if a is not None and abs(centres[i, 0] - centres[a, 0]) < 0.5 * min(widths[i], widths[a]):
            columns[-1].append(i)
        else:
            columns.append([i])
    return [i for column in columns for i in sorted(column, key=lambda j: centres[j, 1])]


def box_sides(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(width, height) of (N, 4, 2) boxes clockwise from top-left: top edge and left edge lengths."""
    width = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    height = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    return width, height


def skew(boxes: np.ndarray, aspect: float = 1.5) -> float:
    """The page's tilt in radians (positive: lines descend to the right): the length-weighted median slope
    of the top edges of its wide (N, 4, 2) boxes; 0 without any."""
    if len(boxes) == 0:
        return 0.0
    top = boxes[:, 1] - boxes[:, 0]
    length, height = box_sides(boxes)
    wide = length >= aspect * np.maximum(height, 1.0)
    if not wide.any():
        return 0.0
    angles, weights = np.arctan2(top[wide, 1], top[wide, 0]), length[wide]
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def reading_order(boxes: np.ndarray) -> list[int]:
    """Indices of (N, 4, 2) boxes top-to-bottom, and left-to-right within a visual row.

    Rows follow the page's tilt (``skew``): box centres are turned level first, so the lines of one row of
    a tilted page stay together. Two boxes share a row when their levelled centres are closer than half
    the smaller box's height.
    """
    if len(boxes) == 0:
        return []
    angle = skew(boxes)
    cos, sin = np.cos(-angle), np.sin(-angle)
    centres = boxes.mean(axis=1)
    level_x = centres[:, 0] * cos - centres[:, 1] * sin
    level_y = centres[:, 0] * sin + centres[:, 1] * cos
    if abs(angle) > 0.01:  # tilted: heights are the boxes' own, not their upright extent
        widths, heights = box_sides(boxes)
        heights = np.maximum(heights, 1.0)
        lefts = level_x - widths / 2
    else:
        heights = np.maximum(boxes[:, :, 1].max(1) - boxes[:, :, 1].min(1), 1.0)
        lefts = boxes[:, :, 0].min(1)
        level_y = (boxes[:, :, 1].min(1) + boxes[:, :, 1].max(1)) / 2
    order = sorted(range(len(boxes)), key=lambda i: (level_y[i], lefts[i]))
    rows: list[list[int]] = []
    for i in order:
        row = rows[-1] if rows else None
        if row is not None:
            anchor = row[0]
            if abs(level_y[i] - level_y[anchor]) < 0.5 * min(heights[i], heights[anchor]):
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: lefts[j])]
