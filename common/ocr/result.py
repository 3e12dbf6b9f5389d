"""What the engine returns: recognised lines (with their words, and characters when asked for) in reading
order, the blocks they make, timings and the model's identity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

Box = list[list[float]]  # 4 [x, y] points, clockwise from the text's own top-left corner


def _scaled(box: Box, scale: float) -> Box:
    return [[round(x / scale, 1), round(y / scale, 1)] for x, y in box]


@dataclass(frozen=True)
class OcrWord:
    """A word (or one character): its text, confidence in [0, 1] (the mean of its characters' CTC
    probabilities; a character's own), and box along its line."""

    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class OcrLine:
    """One text line: its text, confidence in [0, 1], 4 [x, y] points clockwise from top-left, its words,
    and its characters (None: not asked for)."""

    text: str
    confidence: float
    box: Box
    words: list[OcrWord] = field(default_factory=list)
    chars: list[OcrWord] | None = None

    def scaled(self, scale: float) -> OcrLine:
        return OcrLine(self.text, self.confidence, _scaled(self.box, scale),
                       [replace(w, box=_scaled(w.box, scale)) for w in self.words],
                       None if self.chars is None else [replace(c, box=_scaled(c.box, scale))
                                                        for c in self.chars])


@dataclass(frozen=True)
class OcrBlock:
    """A block (a paragraph, a title, a table): its axis-aligned box clockwise from top-left, and the
    indices of its lines in ``OcrResult.lines``, in reading order."""

    box: Box
    lines: list[int]


@dataclass
class OcrResult:
    """The lines of one image in reading order, the blocks they make, and how they were obtained."""

    width: int
    height: int
    lines: list[OcrLine]
    enhance: str
    angle: int = 0  # the clockwise quarter turn (degrees) that made the page upright before it was read
    timings_ms: dict[str, float] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)
    blocks: list[OcrBlock] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The full text in reading order: a line per line, a blank line between blocks (one block of
        every line when there are no blocks)."""
        if not self.blocks:
            return "\n".join(line.text for line in self.lines)
        return "\n\n".join("\n".join(self.lines[i].text for i in block.lines) for block in self.blocks)

    def in_upload_pixels(self, scale: float, width: int, height: int) -> OcrResult:
        """This result, read at ``scale`` x the upload's size (a working resolution), with its boxes (lines,
        words, characters, blocks) and size in the upload's own pixels (``width`` x ``height``)."""
        if scale == 1.0:
            return self
        return replace(self, width=width, height=height, lines=[line.scaled(scale) for line in self.lines],
                       blocks=[replace(b, box=_scaled(b.box, scale)) for b in self.blocks])

    def to_dict(self) -> dict:
        data = asdict(self)
        for line in data["lines"]:
            if line["chars"] is None:  # not asked for: absent, not null
                del line["chars"]
        data["text"] = self.text
        return data
