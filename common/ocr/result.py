"""What the engine returns: recognised lines with boxes, timings and the model's identity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class OcrLine:
    """One text line: its text, confidence in [0, 1], and 4 [x, y] points clockwise from top-left."""

    text: str
    confidence: float
    box: list[list[float]]


@dataclass
class OcrResult:
    """The lines of one image in reading order, and how they were obtained."""

    width: int
    height: int
    lines: list[OcrLine]
    enhance: str
    angle: int = 0  # the clockwise quarter turn (degrees) that made the page upright before it was read
    timings_ms: dict[str, float] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The full text in reading order, one line per line."""
        return "\n".join(line.text for line in self.lines)

    def in_upload_pixels(self, scale: float, width: int, height: int) -> OcrResult:
        """This result, read at ``scale`` x the upload's size (a working resolution), with its boxes and
        size in the upload's own pixels (``width`` x ``height``)."""
        if scale == 1.0:
            return self
        lines = [OcrLine(line.text, line.confidence, [[round(x / scale, 1), round(y / scale, 1)]
                                                      for x, y in line.box]) for line in self.lines]
        return replace(self, width=width, height=height, lines=lines)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["text"] = self.text
        return data
