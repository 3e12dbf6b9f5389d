import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ocrq.errors import ImageTooLarge, UndecodableImage, UnsupportedImage
from ocrq.images import decode, probe
from tests.support.render import encode

LIMIT = 40_000_000


def sample(mode: str = "RGB", size=(40, 30), color=(10, 120, 240)) -> Image.Image:
    return Image.new(mode, size, color if mode == "RGB" else None)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"])
def test_supported_formats_decode_to_bgr(fmt):
    data = encode(sample(), fmt)
    info = probe(data, LIMIT)
    assert (info.width, info.height) == (40, 30)
    pixels = decode(data, LIMIT)
    assert pixels.shape == (30, 40, 3) and pixels.dtype == np.uint8
    if fmt in ("PNG", "BMP", "TIFF"):  # lossless: BGR order exact
        assert tuple(pixels[0, 0]) == (240, 120, 10)


def test_exif_orientation_is_applied():
    image = sample(size=(60, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(image, "JPEG", exif=exif.tobytes())
    assert decode(data, LIMIT).shape == (60, 20, 3)


def test_grayscale_alpha_palette_and_16bit_images():
    assert decode(encode(Image.new("L", (8, 6), 77)), LIMIT)[0, 0].tolist() == [77, 77, 77]
    transparent = Image.new("RGBA", (8, 6), (0, 0, 0, 0))
    assert decode(encode(transparent), LIMIT)[0, 0].tolist() == [255, 255, 255]  # flattened onto white
    palette = Image.new("P", (8, 6), 3)
    assert decode(encode(palette), LIMIT).shape == (6, 8, 3)
    ramp = Image.fromarray(np.tile(np.arange(0, 65536, 4096, dtype=np.uint16), (4, 1)))
    deep = decode(encode(ramp), LIMIT)
    assert deep[0, 0, 0] == 0 and deep[0, -1, 0] == 255


def test_cmyk_jpeg():
    assert decode(encode(Image.new("CMYK", (10, 10), (0, 0, 0, 255)), "JPEG"), LIMIT).shape == (10, 10, 3)


@pytest.mark.parametrize("data", [b"", b"hello world", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                  b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"<?php echo 1; ?>"])
def test_non_images_are_unsupported(data):
    with pytest.raises(UnsupportedImage):
        probe(data, LIMIT)


def test_truncated_images_are_undecodable():
    jpeg = encode(Image.effect_noise((200, 200), 64).convert("RGB"), "JPEG")
    with pytest.raises(UndecodableImage):
        decode(jpeg[: len(jpeg) // 2], LIMIT)
    png = encode(Image.effect_noise((200, 200), 64))
    with pytest.raises(UndecodableImage):
        decode(png[: len(png) // 2], LIMIT)


def test_pixel_bomb_refused_from_header_before_decoding():
    bomb = png_claiming(50_000, 50_000)
    assert len(bomb) < 200
    with pytest.raises(ImageTooLarge, match="50000x50000"):
        probe(bomb, LIMIT)
    with pytest.raises(ImageTooLarge):
        decode(bomb, LIMIT)


def test_pixel_limit_is_configurable():
    data = encode(sample(size=(100, 100)))
    assert probe(data, 10_000).width == 100
    with pytest.raises(ImageTooLarge):
        probe(data, 9_999)


def test_errors_carry_codes_and_statuses():
    with pytest.raises(UnsupportedImage) as caught:
        decode(b"nope", LIMIT)
    assert caught.value.http_status == 415 and caught.value.to_dict()["code"] == "unsupported_image"
    assert ImageTooLarge("x").http_status == 422 and UndecodableImage("x").http_status == 422


def test_probe_does_not_read_pixels():
    # the header is valid, the pixel data garbage: probe succeeds, decode fails
    data = encode(Image.effect_noise((64, 64), 64))
    broken = data[:60] + bytes(len(data) - 60)
    assert probe(broken, LIMIT).width == 64
    with pytest.raises(UndecodableImage):
        decode(broken, LIMIT)


def test_multipage_tiff_uses_first_page():
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (20, 10), "white"), Image.new("RGB", (20, 10), "black")
    first.save(buffer, "TIFF", save_all=True, append_images=[second])
    data = buffer.getvalue()
    assert probe(data, LIMIT).frames == 2
    assert decode(data, LIMIT)[0, 0].tolist() == [255, 255, 255]


def test_transparency_is_flattened_onto_a_ground_that_keeps_the_marks_visible():
    """White marks on a transparent PNG go onto black, dark ones onto white, an opaque image is kept."""
    white_on_clear = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
    white_on_clear.paste((255, 255, 255, 255), (10, 5, 50, 15))
    pixels = decode(encode(white_on_clear), 10_000)
    assert pixels[10, 30].tolist() == [255, 255, 255] and pixels[1, 1].tolist() == [0, 0, 0]
    dark_on_clear = Image.new("RGBA", (60, 20), (255, 255, 255, 0))
    dark_on_clear.paste((0, 0, 80, 255), (10, 5, 50, 15))
    pixels = decode(encode(dark_on_clear), 10_000)
    assert pixels[10, 30].tolist() == [80, 0, 0] and pixels[1, 1].tolist() == [255, 255, 255]
    opaque = Image.new("RGBA", (60, 20), (250, 250, 250, 255))
    assert decode(encode(opaque), 10_000)[1, 1].tolist() == [250, 250, 250]


def test_a_large_image_is_decoded_at_its_working_resolution():
    from ocrq.images import decode_working

    rgba = Image.new("RGBA", (4000, 3000), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (1000, 1000, 3000, 2000))  # an opaque black block on transparency
    decoded = decode_working(encode(rgba), 40_000_000, 3_000_000)
    assert decoded.size == (4000, 3000) and decoded.scale == pytest.approx(0.5, abs=0.01)
    assert decoded.pixels.shape == (1500, 2000, 3)
    # the block where it was, at half scale, on white paper
    assert decoded.pixels[750, 1000].tolist() == [0, 0, 0] and decoded.pixels[100, 100].tolist() == [255] * 3
    jpeg = decode_working(encode(rgba.convert("RGB"), "JPEG"), 40_000_000, 3_000_000)
    assert jpeg.pixels.shape == (1500, 2000, 3) and jpeg.size == (4000, 3000)
    small = decode_working(encode(rgba), 40_000_000, 16_000_000)
    assert small.scale == 1.0 and small.pixels.shape == (3000, 4000, 3)


def test_working_resolution_follows_exif_rotation():
    from ocrq.images import decode_working

    image = Image.new("RGB", (4000, 2000), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    decoded = decode_working(buffer.getvalue(), 40_000_000, 2_000_000)
    assert decoded.size == (2000, 4000) and decoded.pixels.shape == (2000, 1000, 3)
