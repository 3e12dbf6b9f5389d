"""The searchable PDF ("双层PDF"): the page images, or a PDF upload's own pages untouched, under an
invisible text layer of the OCR words.

pikepdf (QPDF) writes it: for a PDF upload each page keeps its content streams as they are (wrapped in a
``q``/``Q`` pair so their graphics state cannot shift the text) and gains one more stream with the text;
for an image, each page is the image (a JPEG as its own bytes, anything else as the pixels the engine
read, Flate-compressed) at the resolution the file names (IMAGE_DPI when it names none).
"""

from __future__ import annotations

import io
import zlib

import pikepdf
from PIL import Image

from ocrq.errors import UndecodableDocument
from ocrq.images import decode
from ocrq.outputs.glyphless import add_font
from ocrq.outputs.layout import Page, pages
from ocrq.outputs.textlayer import FONT_RESOURCE, page_transform, text_layer

IMAGE_DPI = 150  # the page size given to an image whose file names no resolution (or an implausible one)
_PLAUSIBLE_DPI = (36.0, 2400.0)
_MAX_SIDE_PT = 14400  # the largest page side PDF readers accept (200 inches)
_MAX_PIXELS = 200_000_000  # the upload passed the API's pixel limit already; this only guards decoding


def searchable_pdf(result: dict, upload: bytes, document: dict | None) -> bytes:
    """The PDF of a job: ``result`` as stored, ``upload`` its bytes, ``document`` the job's document
    info (``{"format": "pdf"|"tiff", ...}``) or None for a single image. A PDF that PDFium read but QPDF
    cannot rewrite is ``UndecodableDocument`` (422), not a server error."""
    read = pages(result)
    try:
        if document and document.get("format") == "pdf":
            pdf = _over_pdf(upload, read)
        else:
            pdf = _over_images(upload, read)
        pdf.docinfo["/Producer"] = "ocrq"
        out = io.BytesIO()
        pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    except pikepdf.PdfError as exc:
        raise UndecodableDocument(f"the PDF cannot be rewritten with its text layer ({exc})"[:300]) from None
    return out.getvalue()


def _over_pdf(upload: bytes, read: list[Page]) -> pikepdf.Pdf:
    pdf = pikepdf.open(io.BytesIO(upload))
    font = add_font(pdf)
    by_number = {page.number: page for page in read}
    for number, pdf_page in enumerate(pdf.pages, 1):
        page = by_number.get(number)
        if page is None or not page.lines:
            continue
        rotate = int(pdf_page.obj.get("/Rotate", 0))
        box = tuple(float(v) for v in pdf_page.cropbox)
        to_page = page_transform(page.width, page.height, (box[0], box[1], box[2], box[3]), rotate)
        _add_resource(pdf_page, font)
        pdf_page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        pdf_page.contents_add(pdf.make_stream(b"Q\n" + text_layer(page, to_page)), prepend=False)
    return pdf


def _add_resource(pdf_page: pikepdf.Page, font: pikepdf.Object) -> None:
    resources = pdf_page.obj.get("/Resources")
    if resources is None:
        pdf_page.obj.Resources = resources = pikepdf.Dictionary()
    if "/Font" not in resources:
        resources.Font = pikepdf.Dictionary()
    resources.Font[FONT_RESOURCE] = font


def _over_images(upload: bytes, read: list[Page]) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    font = add_font(pdf)
    with Image.open(io.BytesIO(upload)) as img:
        frames = getattr(img, "n_frames", 1)
        dpi = img.info.get("dpi") or (IMAGE_DPI, IMAGE_DPI)
    for index in range(frames):
        page = read[index] if index < len(read) else None
        image, width, height = _image_xobject(pdf, upload, index)
        w_pt, h_pt = width * 72 / _dpi(dpi[0], width), height * 72 / _dpi(dpi[1], height)
        content = f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Im0 Do Q\n".encode()
        if page is not None and page.lines:
            content += text_layer(page, page_transform(page.width or width, page.height or height,
                                                       (0, 0, w_pt, h_pt)))
        pdf_page = pdf.add_blank_page(page_size=(w_pt, h_pt))
        pdf_page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image),
                                                    Font=pikepdf.Dictionary({FONT_RESOURCE: font}))
        pdf_page.obj.Contents = pdf.make_stream(content)
    return pdf


def _dpi(named: object, pixels: int) -> float:
    """The resolution a page is given: the file's when plausible (TIFFs often say 1), else IMAGE_DPI,
    changed if the page would be larger or smaller than PDF allows (14400 and 3 points a side)."""
    try:
        value = float(named)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = IMAGE_DPI
    if not _PLAUSIBLE_DPI[0] <= value <= _PLAUSIBLE_DPI[1]:
        value = IMAGE_DPI
    return min(max(value, pixels * 72 / _MAX_SIDE_PT), pixels * 72 / 3)


def _image_xobject(pdf: pikepdf.Pdf, upload: bytes, frame: int) -> tuple[pikepdf.Object, int, int]:
    """Page ``frame`` of the upload as an image XObject, upright as the engine read it."""
    with Image.open(io.BytesIO(upload)) as img:
        upright_jpeg = img.format == "JPEG" and img.mode in ("RGB", "L") and \
            img.getexif().get(0x0112, 1) == 1
        if upright_jpeg:  # the file's own bytes: no loss, no growth
            stream = pdf.make_stream(upload)
            stream.Filter = pikepdf.Name.DCTDecode
            colour = "/DeviceRGB" if img.mode == "RGB" else "/DeviceGray"
            return _image(pdf, stream, img.width, img.height, colour), img.width, img.height
    pixels = decode(upload, _MAX_PIXELS, frame=frame)[:, :, ::-1]  # BGR -> RGB, EXIF applied
    height, width = pixels.shape[:2]
    stream = pdf.make_stream(zlib.compress(pixels.tobytes(), 6))
    stream.Filter = pikepdf.Name.FlateDecode
    return _image(pdf, stream, width, height, "/DeviceRGB"), width, height


def _image(pdf: pikepdf.Pdf, stream: pikepdf.Stream, width: int, height: int,
           colour: str) -> pikepdf.Object:
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = width, height
    stream.ColorSpace = pikepdf.Name(colour)
    stream.BitsPerComponent = 8
    return stream


