"""Pages with known word boxes: text drawn word by word, each word's box measured as it is drawn, and the
result the engine would give for it (lines with ``words``), for the output renderers' tests."""

from __future__ import annotations

from PIL import Image, ImageDraw

from tests.support.render import font


def page_with_words(lines: list[list[str]], size: int = 32, margin: int = 40, width: int = 900,
                    at: tuple[int, int] = (0, 0)) -> tuple[Image.Image, dict]:
    """A white page with each line's words drawn left to right (Latin words a space apart, CJK ones
    touching), and its result: every word's box spans its line's height, as the engine's do."""
    face = font(size)
    image = Image.new("RGB", (width, 2 * margin + 2 * size * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    result_lines = []
    for k, words in enumerate(lines):
        x, y = margin + at[0], margin + at[1] + 2 * size * k
        top, bottom = y, y + int(size * 1.4)
        boxes = []
        for word in words:
            left, _, right, _ = draw.textbbox((x, y), word, font=face)
            draw.text((x, y), word, fill="black", font=face)
            boxes.append({"text": word, "confidence": 0.93,
                          "box": [[left, top], [right, top], [right, bottom], [left, bottom]]})
            x = int(right + (face.getlength(" ") if word.isascii() else 1))
        text = ("" if not words[0].isascii() else " ").join(words)
        left, right = boxes[0]["box"][0][0], boxes[-1]["box"][1][0]
        result_lines.append({"text": text, "confidence": 0.93, "words": boxes,
                             "box": [[left, top], [right, top], [right, bottom], [left, bottom]]})
    result = {"width": image.width, "height": image.height, "angle": 0,
              "text": "\n".join(line["text"] for line in result_lines), "lines": result_lines}
    return image, result


def without_words(result: dict) -> dict:
    """The same result as engines gave it before words and blocks: lines only."""
    pages = result.get("pages")
    if pages:
        return {**result, "pages": [without_words(page) for page in pages]}
    return {**result, "lines": [{k: v for k, v in line.items() if k != "words"} for line in result["lines"]],
            **({"blocks": []} if "blocks" in result else {})}
