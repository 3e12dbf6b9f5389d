"""Multi-column pages with their text in reading order: the pages of the reading-order bench.

    python bench/layouts.py [--pages 20] [--seed 15] [--out bench/out/layouts]

Each page has a full-width title, then two or three columns of paragraphs (Chinese or English, a
paragraph in one language each) with a figure (an empty framed box and its caption) in one column, and a
full-width table (a header and rows of a label, a quantity, a price and an amount) above or below the
columns. Pages alternate two and three columns; on every third page the columns' lines are out of step
(each column starts lower by up to a line and has its own line spacing); every fourth page is tilted by 1
to 2.5 degrees. The ground truth is the text as a person reads it: the title, each column top to bottom
from the left, the table row by row, cells left to right; one line of text per printed line. Writes
DIR/images/*.png and DIR/labels.jsonl (``{"image", "width", "height", "layout", "text"}``); the same seed
gives the same pages (and fonts). Fonts are the ones shared/tools/synth_docs.py uses (its ``FontBank``:
Noto Sans/Serif CJK SC, WenQuanYi Micro Hei from the Debian packages); where those are not installed,
Noto Sans CJK from the ``cvttf-notosanscjk-regular`` wheel the tests draw with. The Chinese sentences and
English words are synth_docs.py's corpus.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO.parent / "shared" / "tools"
sys.path.insert(0, str(TOOLS))

from synthdoc import lexicon, sentences  # noqa: E402
from synthdoc.corpus import Corpus  # noqa: E402
from synthdoc.fonts import FontBank  # noqa: E402

WIDTH, HEIGHT, MARGIN = 1100, 1500, 60
BODY_FACES = ("noto-sans-sc", "noto-serif-sc", "wqy-microhei")  # CJK faces: they draw Latin too


class WheelFonts:
    """Noto Sans CJK from the tests' font wheel, standing in for a ``FontBank`` without CJK faces."""

    def __init__(self) -> None:
        import cvttf_NotoSansCJK_Regular

        self.path = cvttf_NotoSansCJK_Regular.get_TTF_path()
        self.faces = {"noto-sans-sc": self.path}

    def font(self, key: str, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.path, size)


def font_bank() -> FontBank | WheelFonts:
    """synth_docs.py's fonts, or the wheel's Noto Sans CJK when the system has no CJK font."""
    try:
        return FontBank.discover()
    except SystemExit:  # FontBank's way of saying it found no CJK face
        return WheelFonts()


class Page:
    """A page being drawn: where the next line goes, and the lines drawn so far in reading order."""

    def __init__(self, rng: random.Random, bank: FontBank | WheelFonts) -> None:
        self.rng, self.bank = rng, bank
        self.image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.face = rng.choice([k for k in BODY_FACES if k in bank.faces])
        self.size = rng.choice((20, 22, 24))
        self.lines: list[str] = []

    def font(self, size: int | None = None) -> ImageFont.FreeTypeFont:
        return self.bank.font(self.face, size or self.size)

    def text(self, x: float, y: float, line: str, size: int | None = None) -> None:
        self.draw.text((x, y), line, fill=(20, 20, 20), font=self.font(size))
        self.lines.append(line)


def wrap(tokens: list[str], font: ImageFont.FreeTypeFont, width: int, sep: str) -> list[str]:
    """``tokens`` joined by ``sep`` into lines no wider than ``width`` pixels."""
    lines, current = [], ""
    for token in tokens:
        trial = current + sep + token if current else token
        if current and font.getlength(trial) > width:
            lines.append(current)
            current = token
        else:
            current = trial
    return [*lines, current] if current else lines


def paragraph(rng: random.Random, corpus: Corpus, chinese: bool) -> tuple[list[str], str]:
    """A paragraph's tokens and the separator that joins them."""
    if chinese:
        text = "".join(corpus.fill(rng.choice(sentences.PARAGRAPH)) for _ in range(rng.randint(2, 4)))
        return list(text), ""
    words = [rng.choice(lexicon.ENGLISH_WORDS).lower() for _ in range(rng.randint(25, 50))]
    words[0] = words[0].capitalize()
    for k in range(7, len(words) - 1, rng.randint(6, 10)):
        words[k] += "."
        words[k + 1] = words[k + 1].capitalize()
    return words, " "


def column(page: Page, corpus: Corpus, x: int, width: int, top: int, bottom: int, figure: bool,
           spacing: float = 1.55) -> None:
    """Paragraphs (and a figure, if asked) from ``top`` down to ``bottom`` in a column at ``x``, lines
    ``spacing`` font sizes apart."""
    rng, step = page.rng, int(page.size * spacing)
    y, placed = top, not figure
    while True:
        if not placed and y > top + (bottom - top) * rng.uniform(0.1, 0.4):
            box = int(rng.uniform(120, 220))
            if y + box + 2 * step > bottom:
                break
            page.draw.rectangle((x + 10, y, x + width - 10, y + box), outline=(90, 90, 90), width=2,
                                fill=(235, 238, 242))
            caption = (f"图{rng.randint(1, 9)} {corpus.fill('{company}')}季度报告" if rng.random() < 0.5
                       else f"Figure {rng.randint(1, 9)}: {rng.choice(lexicon.ENGLISH_WORDS)} overview")
            small = page.size - 4
            tokens, sep = (caption.split(" "), " ") if caption.startswith("Figure") else (list(caption), "")
            y += box + 8
            for line in wrap(tokens, page.font(small), width - 20, sep):  # within the column
                page.text(x + 10, y, line, small)
                y += int(small * 1.5)
            y += step // 2
            placed = True
            continue
        tokens, sep = paragraph(rng, corpus, chinese=rng.random() < 0.5)
        for line in wrap(tokens, page.font(), width, sep):
            if y + step > bottom:
                return
            page.text(x, y, line)
            y += step
        y += step // 2


def table(page: Page, corpus: Corpus, top: int) -> int:
    """A full-width table from ``top``: a header and 3-5 rows; returns the y below it."""
    rng, step = page.rng, int(page.size * 2.0)
    xs = [MARGIN, MARGIN + 460, MARGIN + 640, MARGIN + 820]
    header = rng.choice((["项目", "数量", "单价", "金额"], ["Item", "Qty", "Price", "Amount"]))
    rows = [header]
    for _ in range(rng.randint(3, 5)):
        name = corpus.invoice_item()[0].strip("*").replace("*", " ") if rng.random() < 0.5 else \
            f"{rng.choice(lexicon.ENGLISH_WORDS)} {rng.choice(lexicon.ENGLISH_WORDS).lower()}"
        qty, price = rng.randint(1, 40), round(rng.uniform(2, 900), 2)
        rows.append([name, str(qty), f"{price:.2f}", f"{qty * price:.2f}"])
    y = top
    page.draw.line((MARGIN, y - 6, WIDTH - MARGIN, y - 6), fill=(120, 120, 120), width=2)
    for r, row in enumerate(rows):
        for x, cell in zip(xs, row, strict=True):
            page.text(x, y, cell)
        y += step
        if r == 0:
            page.draw.line((MARGIN, y - 10, WIDTH - MARGIN, y - 10), fill=(160, 160, 160), width=1)
    page.draw.line((MARGIN, y - 6, WIDTH - MARGIN, y - 6), fill=(120, 120, 120), width=2)
    return y + step // 2


def render(seed: int, index: int, bank: FontBank | WheelFonts) -> tuple[Image.Image, dict]:
    """Page ``index`` of the set made with ``seed``: the image and its record (text in reading order)."""
    rng = random.Random(f"layouts/{seed}/{index}")
    corpus = Corpus(rng)
    page = Page(rng, bank)
    count = 2 + index % 2
    title_size = rng.choice((34, 38, 42))
    title = corpus.fill(rng.choice(sentences.NOTICE_TITLES)) if rng.random() < 0.6 else \
        f"{corpus.company_en()} {rng.choice(lexicon.ENGLISH_WORDS)} Report"
    while page.font(title_size).getlength(title) > WIDTH - 2 * MARGIN:  # a title on the page
        title_size -= 2
    x = (WIDTH - page.font(title_size).getlength(title)) / 2 if rng.random() < 0.5 else MARGIN
    page.text(x, MARGIN, title, title_size)
    y = MARGIN + int(title_size * 2.2)
    table_first = rng.random() < 0.4
    if table_first:
        y = table(page, corpus, y + 10) + 20
    gutter = rng.choice((36, 48, 60))
    width = (WIDTH - 2 * MARGIN - (count - 1) * gutter) // count
    bottom = HEIGHT - MARGIN - (0 if table_first else 330)
    figure_in = rng.randrange(count)
    ragged = index % 3 == 1  # the columns' lines out of step with each other
    for k in range(count):
        top = y + (rng.randint(0, page.size) if ragged else 0)
        spacing = rng.uniform(1.45, 1.75) if ragged else 1.55
        column(page, corpus, MARGIN + k * (width + gutter), width, top, bottom, k == figure_in, spacing)
    if not table_first:
        table(page, corpus, bottom + 30)
    image, layout = page.image, f"{count}-column"
    if index % 4 == 3:  # every fourth page a little tilted, as a scan is
        angle = rng.choice((-1, 1)) * rng.uniform(1.0, 2.5)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")
        layout += f", tilted {angle:+.1f} degrees"
    record = {"width": WIDTH, "height": HEIGHT, "layout": layout, "text": "\n".join(page.lines)}
    return image, record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "layouts")
    args = ap.parse_args(argv)
    bank = font_bank()
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    with (args.out / "labels.jsonl").open("w", encoding="utf-8") as labels:
        for index in range(args.pages):
            image, record = render(args.seed, index, bank)
            name = f"images/layout_{args.seed}_{index:03d}.png"
            image.save(args.out / name)
            labels.write(json.dumps({"image": name, **record}, ensure_ascii=False) + "\n")
    print(f"{args.pages} pages in {args.out} (fonts: {', '.join(sorted(bank.faces))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
