"""Box geometry: cutting a line out of the page, and putting lines in reading order."""

from __future__ import annotations

import cv2
import numpy as np


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
    if crop.shape[0] >= 1.5 * crop.shape[1]:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def _is_axis_aligned(box: np.ndarray, tolerance: float = 0.5) -> bool:
    return (abs(box[0, 1] - box[1, 1]) <= tolerance and abs(box[3, 1] - box[2, 1]) <= tolerance
            and abs(box[0, 0] - box[3, 0]) <= tolerance and abs(box[1, 0] - box[2, 0]) <= tolerance)


def reading_order(boxes: np.ndarray) -> list[int]:
    """Indices of (N, 4, 2) boxes top-to-bottom, and left-to-right within a visual row.

    Two boxes share a row when their vertical centres are closer than half the smaller box's height.
    """
    if len(boxes) == 0:
        return []
    tops = boxes[:, :, 1].min(1)
    bottoms = boxes[:, :, 1].max(1)
    centres = (tops + bottoms) / 2
    heights = np.maximum(bottoms - tops, 1.0)
    lefts = boxes[:, :, 0].min(1)
    order = sorted(range(len(boxes)), key=lambda i: (centres[i], lefts[i]))
    rows: list[list[int]] = []
    for i in order:
        row = rows[-1] if rows else None
        if row is not None:
            anchor = row[0]
            if abs(centres[i] - centres[anchor]) < 0.5 * min(heights[i], heights[anchor]):
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: lefts[j])]
