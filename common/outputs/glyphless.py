"""An invisible font for a PDF's text layer: every character maps to one empty glyph, 1 em wide.

The approach of Tesseract's and OCRmyPDF's PDF renderers: a Type0 font, ``Identity-H`` (a character's
code is its UTF-16 code unit), a ``ToUnicode`` CMap that maps each code back to the same code point, and
one glyph for every code. So any script, Chinese included, is written and extracted exactly without
embedding a CJK font (20 MB); nothing is drawn (text render mode 3). The glyph program is a tiny TrueType
font built with fontTools at first use, so the PDF embeds every font it names (PDF/A asks for that).
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache

import pikepdf

FONT_NAME = "GlyphLessFont"
ASCENT, DESCENT = 800, -200  # in 1/1000 em: a glyph spans from 0.2 em below the baseline to 0.8 above


@lru_cache(maxsize=1)
def font_program() -> bytes:
    """A TrueType font of two glyphs (.notdef and the one every code maps to), each a plain 1 em box.

    The box is never painted (render mode 3), but it gives each character an outline: PDFium measures a
    character by its glyph's outline, and skips a text object of one empty glyph (a lone CJK word)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(1000, isTTF=True)
    names = [".notdef", "glyph"]
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({0x20: "glyph"})
    pen = TTGlyphPen(None)
    pen.moveTo((0, DESCENT))
    pen.lineTo((0, ASCENT))
    pen.lineTo((1000, ASCENT))
    pen.lineTo((1000, DESCENT))
    pen.closePath()
    box = pen.glyph()
    builder.setupGlyf(dict.fromkeys(names, box))
    builder.setupHorizontalMetrics(dict.fromkeys(names, (1000, 0)))
    builder.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT,
                     usWinDescent=-DESCENT)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def _to_unicode_cmap() -> bytes:
    """Each 2-byte code to the UTF-16 code unit of the same value (ranges within one high byte, as the
    spec asks of bfrange)."""
    ranges = [f"<{high:02X}00> <{high:02X}FF> <{high:02X}00>" for high in range(256)]
    blocks = []
    for start in range(0, 256, 100):  # at most 100 entries per beginbfrange
        chunk = ranges[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks) + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode()


def add_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """The Type0 font dictionary, added to ``pdf`` as indirect objects (share it among all pages)."""
    program = pdf.make_stream(zlib.compress(font_program()))
    program.Filter = pikepdf.Name.FlateDecode
    program.Length1 = len(font_program())
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/" + FONT_NAME), Flags=5,
        FontBBox=[0, DESCENT, 1000, ASCENT], ItalicAngle=0, Ascent=ASCENT, Descent=DESCENT,
        CapHeight=ASCENT, StemV=80, FontFile2=program))
    # every CID (code) to glyph 1: two bytes per CID, 0..65535
    gid_map = pdf.make_stream(zlib.compress(b"\x00\x01" * 65536))
    gid_map.Filter = pikepdf.Name.FlateDecode
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name("/" + FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"),
                                         Ordering=pikepdf.String("Identity"), Supplement=0),
        FontDescriptor=descriptor, DW=1000, CIDToGIDMap=gid_map))
    cmap = pdf.make_stream(zlib.compress(_to_unicode_cmap()))
    cmap.Filter = pikepdf.Name.FlateDecode
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/" + FONT_NAME),
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[cid_font], ToUnicode=cmap))


def encode(text: str) -> tuple[bytes, int]:
    """``text`` as the font's codes (UTF-16BE) and how many glyphs that is (1 em each)."""
    codes = text.encode("utf-16-be")
    return codes, len(codes) // 2
