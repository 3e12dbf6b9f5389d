"""Images the tests draw themselves: text lines in Noto Sans CJK on a white page, encoded as bytes."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=1)
def font_path() -> str:
    import cvttf_NotoSansCJK_Regular  # installed by `make test` (pinned in pyproject's dev extra)

    return cvttf_NotoSansCJK_Regular.get_TTF_path()


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size)


def render_lines(lines: list[str], size: int = 32, width: int | None = None, margin: int = 40,
                 spacing: float = 1.0) -> Image.Image:
    """A white RGB page with ``lines`` drawn in black, one under the other; ``spacing`` in line heights."""
    face = font(size)
    step = int(size * (1.0 + spacing))
    text_width = max(int(face.getlength(line)) for line in lines)
    page = Image.new("RGB", (width or text_width + 2 * margin, 2 * margin + step * len(lines)), "white")
    draw = ImageDraw.Draw(page)
    for k, line in enumerate(lines):
        draw.text((margin, margin + k * step), line, fill="black", font=face)
    return page


def encode(image: Image.Image | np.ndarray, fmt: str = "PNG", **params) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def render_png(lines: list[str], **kwargs) -> bytes:
    return encode(render_lines(lines, **kwargs))
