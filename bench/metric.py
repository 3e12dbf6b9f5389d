"""End-to-end CER of one page, as defined in shared/notes/metric.md, as pure functions.

Predicted lines are assigned to ground-truth lines by where their box centre falls, the texts given to
each GT line are joined left to right and compared with Levenshtein distance. Every count is returned
per page in a `PageScore`, and scores add up, so a dataset total is the sum of its pages.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from rapidfuzz.distance import Levenshtein

Box = Sequence[Sequence[float]]  # 4 (x, y) points in pixels; any quadrilateral
Rect = tuple[float, float, float, float]  # axis-aligned x0, y0, x1, y1
Prediction = tuple[str, float, Box]  # (text, confidence, box), what a System returns per line


def normalise(text: str, casefold: bool = False) -> str:
    """NFKC, every whitespace character removed, optionally case-folded (SROIE labels are upper-case)."""
    text = "".join(unicodedata.normalize("NFKC", text).split())
    return text.casefold() if casefold else text


def is_cjk(character: str) -> bool:
    """Han, kana, Hangul, and the CJK and full-width punctuation blocks: where a gap is no word break."""
    code = ord(character)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)


def normalise_spaced(text: str, casefold: bool = False) -> str:
    """NFKC, every run of whitespace one space, kept only where neither neighbour is CJK (a word break
    between Latin letters, digits and their punctuation), none at the ends; optionally case-folded.
    The space-aware score compares these, so ``10 25.00 250.00`` read as ``1025.00250.00`` is wrong."""
    words = unicodedata.normalize("NFKC", text).split()
    out = ""
    for word in words:
        if out and not is_cjk(out[-1]) and not is_cjk(word[0]):
            out += " "
        out += word
    return out.casefold() if casefold else out


def rect(box: Box) -> Rect:
    """The axis-aligned bounding rectangle of a box."""
    xs = [float(p[0]) for p in box]
    ys = [float(p[1]) for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def centre(box: Box) -> tuple[float, float]:
    """Centre of the box's bounding rectangle."""
    x0, y0, x1, y1 = rect(box)
    return (x0 + x1) / 2, (y0 + y1) / 2


def inside_polygon(pt: tuple[float, float], box: Box) -> bool:
    """Even-odd rule; points on an axis-aligned edge count as inside (ignore regions may be rotated)."""
    x, y = pt
    x0, y0, x1, y1 = rect(box)
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    pts = [(float(p[0]), float(p[1])) for p in box]
    if all(px in (x0, x1) and py in (y0, y1) for px, py in pts):
        return True  # axis-aligned rectangle: the bounds test above is exact, edges included
    hit = False
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1], strict=True):
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            hit = not hit
    return hit


def distance_to_rect(pt: tuple[float, float], r: Rect) -> float:
    """Euclidean distance from a point to a rectangle (0 inside or on the edge)."""
    dx = max(r[0] - pt[0], 0.0, pt[0] - r[2])
    dy = max(r[1] - pt[1], 0.0, pt[1] - r[3])
    return math.hypot(dx, dy)


def assign(pred_boxes: Sequence[Box], gt_boxes: Sequence[Box]) -> list[int]:
    """Index of the GT line each predicted line belongs to, -1 when unmatched.

    The smallest GT rectangle containing the prediction's centre wins; failing that, the nearest GT
    rectangle whose distance to the centre is at most half its own height (metric.md, step 3).
    """
    gts = [rect(b) for b in gt_boxes]
    owners = []
    for box in pred_boxes:
        c = centre(box)
        containing = [(_area(r), j) for j, r in enumerate(gts) if distance_to_rect(c, r) == 0.0]
        if containing:
            owners.append(min(containing)[1])
            continue
        near = [(d, j) for j, r in enumerate(gts) if (d := distance_to_rect(c, r)) <= (r[3] - r[1]) / 2]
        owners.append(min(near)[1] if near else -1)
    return owners


def _area(r: Rect) -> float:
    return (r[2] - r[0]) * (r[3] - r[1])


@dataclass
class PageScore:
    """Counts for one page or, summed, a dataset. All character counts are after normalisation."""

    errors: int = 0  # sum of per-line distances + characters of unmatched predictions
    gt_chars: int = 0
    lines_exact: int = 0
    lines_total: int = 0
    missed_chars: int = 0  # GT chars of lines that received no prediction at all (detector misses)
    unmatched_chars: int = 0  # chars of predictions assigned to no GT line (invented text); part of errors
    pages: int = 1
    spaced_errors: int = 0  # the same errors with word breaks kept (normalise_spaced)
    spaced_chars: int = 0

    def __add__(self, other: PageScore) -> PageScore:
        return PageScore(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def cer(self) -> float:
        return self.errors / self.gt_chars if self.gt_chars else 0.0

    @property
    def spaced_cer(self) -> float:
        """CER with word breaks between Latin words and numbers counted (spaces next to CJK ignored)."""
        return self.spaced_errors / self.spaced_chars if self.spaced_chars else 0.0

    @property
    def exact_share(self) -> float:
        return self.lines_exact / self.lines_total if self.lines_total else 0.0

    @property
    def missed_share(self) -> float:
        return self.missed_chars / self.gt_chars if self.gt_chars else 0.0

    @property
    def unmatched_share(self) -> float:
        return self.unmatched_chars / self.gt_chars if self.gt_chars else 0.0


def total(scores: Iterable[PageScore]) -> PageScore:
    """Sum of page scores (an empty sum has pages=0)."""
    return sum(scores, PageScore(pages=0))


@dataclass
class LineResult:
    """One GT line after assignment: its normalised label, the joined prediction, and their distance."""

    label: str
    predicted: str
    distance: int
    received: bool  # at least one predicted line was assigned to it
    spaced_label: str = ""
    spaced_distance: int = 0


def align_page(
    page: dict, preds: Sequence[Prediction], casefold: bool = False
) -> tuple[list[LineResult], list[str]]:
    """Per-GT-line results and the normalised texts of unmatched predictions, for one page record.

    `page` is a labels.jsonl record: "lines" [{"text", "box", optional "dup_of"}], optional
    "ignore_regions" [{"box"}]. GT lines with "dup_of" are dropped before assignment.
    """
    gt = [ln for ln in page["lines"] if "dup_of" not in ln]
    ignore = [reg["box"] for reg in page.get("ignore_regions") or []]
    kept = [p for p in preds if not any(inside_polygon(centre(p[2]), reg) for reg in ignore)]
    owners = assign([p[2] for p in kept], [ln["box"] for ln in gt])
    given: list[list[tuple[float, str]]] = [[] for _ in gt]
    unmatched = []
    for (text, _conf, box), j in zip(kept, owners, strict=True):
        if j < 0:
            unmatched.append(normalise(text, casefold))
        else:
            given[j].append((rect(box)[0], text))
    results = []
    for ln, parts in zip(gt, given, strict=True):
        label = normalise(ln["text"], casefold)
        ordered = [t for _, t in sorted(parts, key=lambda p: p[0])]
        joined = "".join(normalise(t, casefold) for t in ordered)
        spaced_label = normalise_spaced(ln["text"], casefold)
        spaced = normalise_spaced(" ".join(ordered), casefold)  # separate boxes: a gap between them
        results.append(LineResult(label, joined, Levenshtein.distance(joined, label), bool(parts),
                                  spaced_label, Levenshtein.distance(spaced, spaced_label)))
    return results, unmatched


def score_page(page: dict, preds: Sequence[Prediction], casefold: bool = False) -> PageScore:
    """The page's counts: see PageScore. CER = errors / gt_chars, summed over pages before dividing."""
    lines, unmatched = align_page(page, preds, casefold)
    invented = sum(len(t) for t in unmatched)
    return PageScore(
        errors=sum(r.distance for r in lines) + invented,
        gt_chars=sum(len(r.label) for r in lines),
        lines_exact=sum(r.predicted == r.label for r in lines),
        lines_total=len(lines),
        missed_chars=sum(len(r.label) for r in lines if not r.received),
        unmatched_chars=invented,
        spaced_errors=sum(r.spaced_distance for r in lines) + invented,
        spaced_chars=sum(len(r.spaced_label) for r in lines),
    )
