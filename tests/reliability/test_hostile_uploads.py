"""Scenario 5: hostile and broken uploads, over real HTTP to gunicorn.

Every answer is a documented 4xx JSON error, or a 202 whose job ends with a real OCR result (or a
documented error code); no 5xx; no worker process dies; memory stays bounded.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw

from tests.common.test_images import png_claiming
from tests.reliability.harness import Figures, rss_kib, same_text, wait_finished
from tests.support.documents import encrypted_pdf, pdf_bytes
from tests.support.render import encode, font

pytestmark = pytest.mark.reliability

LIMIT = 256 * 1024  # OCRQ_MAX_UPLOAD_BYTES for this stack
UPLOAD_TIMEOUT = 5  # OCRQ_UPLOAD_TIMEOUT for this stack
TEXT = "Hostile 对抗 42"
DOCUMENTED = {
    400: {"missing_file", "empty_file", "too_many_files", "invalid_option", "bad_request", "invalid_json",
          "invalid_base64", "incomplete_body"},
    408: {"request_timeout"},
    413: {"payload_too_large"},
    415: {"unsupported_image"},
    422: {"image_too_large", "undecodable_image", "undecodable_document", "encrypted_document",
          "too_many_pages"},
}
JOB_ERRORS = {"undecodable_image", "image_too_large"}


def page(mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", (360, 40), "white")
    ImageDraw.Draw(image).text((8, 6), TEXT, fill="black", font=font(22))
    return image.convert(mode) if mode != "RGB" else image


def animated_gif() -> bytes:
    buffer = io.BytesIO()
    blank = Image.new("P", (360, 40), 0)
    page("P").save(buffer, "GIF", save_all=True, append_images=[blank, page("P")], duration=100, loop=0)
    return buffer.getvalue()


def multipage_tiff(pages: int = 40) -> bytes:
    buffer = io.BytesIO()
    first = page("L")
    first.save(
        buffer,
        "TIFF",
        compression="tiff_lzw",
        save_all=True,
        append_images=[Image.new("L", (360, 40), 255)] * (pages - 1),
    )
    return buffer.getvalue()


def palette_png_with_transparency() -> bytes:
    image = page("RGB").quantize(colors=16)
    white = image.getpixel((0, 0))  # the page's background colour becomes transparent
    return encode(image, "PNG", transparency=white)


def sixteen_bit_png() -> bytes:
    gray = page("L")
    return encode(gray.point(lambda v: v * 257, mode="I").convert("I;16"), "PNG")


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; displayed upright after a 90-degree turn
    return encode(page().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


def bmp_claiming(width: int, height: int) -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return header + info + b"\0" * 64


def multipart_body(parts: list[tuple[bytes, bytes, bytes | None]], boundary: bytes = b"XyZ") -> bytes:
    """Raw multipart bytes: (field name, value, filename or None); names and filenames are sent as is."""
    out = b""
    for name, value, filename in parts:
        disposition = (
            b'form-data; name="' + name + b'"' + (b'; filename="' + filename + b'"' if filename else b"")
        )
        out += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n"
        out += (
            (b"Content-Type: application/octet-stream\r\n" if filename else b"") + b"\r\n" + value + b"\r\n"
        )
    return out + b"--" + boundary + b"--\r\n"


@dataclass
class Answer:
    status: int
    code: str | None
    seconds: float
    job: str | None = None
    closed: bool = False  # the server closed the connection without an answer


def raw_http(
    port: int, head: bytes, body_chunks: list[bytes], pause: float = 0.0, timeout: float = 30.0
) -> Answer:
    """Send a request by hand (for what HTTP libraries will not do): slow bodies, lying lengths."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
                time.sleep(pause)
        except OSError:  # the server answered and closed before the body was all sent
            pass
        # A body shorter than its Content-Length leaves the connection open: the server must give up.
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head_end = data.index(b"\r\n\r\n")
                    length = [
                        int(line.split(b":")[1])
                        for line in data[:head_end].split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ]
                    if length and len(data) >= head_end + 4 + length[0]:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
    elapsed = time.monotonic() - started
    if not data:
        return Answer(0, None, elapsed, closed=True)
    status = int(data.split(b" ", 2)[1])
    body = data.split(b"\r\n\r\n", 1)[1]
    try:
        document = json.loads(body)
    except ValueError:
        return Answer(status, f"not JSON: {body[:80]!r}", elapsed)
    return Answer(status, (document.get("error") or {}).get("code"), elapsed, job=document.get("job_id"))


def request_head(
    port: int, length: int, content_type: bytes = b"image/png", path: bytes = b"/v1/jobs"
) -> bytes:
    return (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: 127.0.0.1:"
        + str(port).encode()
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Length: "
        + str(length).encode()
        + b"\r\n\r\n"
    )


def test_hostile_and_broken_uploads(make_stack, tmp_path):
    stack = make_stack(
        concurrency=1, OCRQ_MAX_UPLOAD_BYTES=str(LIMIT), OCRQ_UPLOAD_TIMEOUT=str(UPLOAD_TIMEOUT)
    )
    base, port, worker = stack.url, stack.api.port, stack.workers[0]
    figures = Figures("5. hostile and broken uploads")
    good = encode(page(), "PNG")
    jpeg = encode(page(), "JPEG", quality=90)
    noise = encode(Image.effect_noise((400, 400), 80).convert("RGB"), "PNG")  # ~ 480 kB: over LIMIT
    assert len(noise) > LIMIT
    children_before = sorted(worker.children())
    api_rss_before = sum(rss_kib(pid) for pid in stack.api.pids())

    def files(data: bytes, name: str = "a.png", field: str = "image", mime: str = "image/png") -> dict:
        return {"files": {field: (name, data, mime)}}

    # name -> (how to send it, what must come back: "ok" = 202 then a result with TEXT, "document" = 202
    # then pages of which the first reads TEXT and the others are blank, "job" = 202 then any documented
    # outcome, a 4xx status = that error)
    http_cases = {
        "empty raw body": ({"data": b"", "headers": {"Content-Type": "image/png"}}, 400),
        "zero-byte file": (files(b""), 400),
        "text file named .jpg": (files(b"hello, this is text\n" * 10, "photo.jpg", mime="image/jpeg"), 415),
        "truncated JPEG": (files(jpeg[: len(jpeg) // 2], "t.jpg", mime="image/jpeg"), "job"),
        "truncated PNG": (files(good[: len(good) // 2]), "job"),
        "JPEG with a corrupt header": (files(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "c.jpg"), 422),
        "PNG with a corrupt header": (
            files(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 200),
            422,
        ),
        "GIF header only": (files(b"GIF89a", "g.gif", mime="image/gif"), 422),
        "1x1 PNG": (files(encode(Image.new("RGB", (1, 1), "white"))), "job"),
        "1x20000 PNG": (files(encode(Image.new("L", (1, 20000), 255))), "job"),
        "20000x1 PNG": (files(encode(Image.new("L", (20000, 1), 255))), "job"),
        "50000x50000 PNG bomb in a small file": (files(png_claiming(50_000, 50_000)), 422),
        "BMP claiming 100000x100000": (files(bmp_claiming(100_000, 100_000), "b.bmp", mime="image/bmp"), 422),
        "6000x6000 blank PNG (under the pixel limit)": (
            files(encode(Image.new("1", (6000, 6000), 1))),
            "job",
        ),
        "multipart body over the size limit": (files(noise), 413),
        "raw body over the size limit": ({"data": noise, "headers": {"Content-Type": "image/png"}}, 413),
        "wrong multipart field": (files(good, field="file"), 400),
        "several files in one field": (
            {"files": [("image", ("a.png", good)), ("image", ("b.png", good))]},
            400,
        ),
        "CMYK JPEG": (files(encode(page("CMYK"), "JPEG", quality=95), "cmyk.jpg", mime="image/jpeg"), "ok"),
        "16-bit grayscale PNG": (files(sixteen_bit_png()), "ok"),
        "animated GIF": (files(animated_gif(), "anim.gif", mime="image/gif"), "ok"),
        "palette PNG with transparency": (files(palette_png_with_transparency()), "ok"),
        "TIFF with 40 pages": (files(multipage_tiff(), "pages.tif", mime="image/tiff"), "document"),
        "JPEG with EXIF rotation": (files(exif_rotated_jpeg(), "rot.jpg", mime="image/jpeg"), "ok"),
        "WebP": (files(encode(page(), "WEBP", lossless=True), "w.webp", mime="image/webp"), "ok"),
        "SVG": (
            files(
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>hi</text></svg>',
                "x.svg",
                mime="image/svg+xml",
            ),
            415,
        ),
        "SVG as raw body": ({"data": b"<svg/>", "headers": {"Content-Type": "image/svg+xml"}}, 415),
        "PDF without a page tree": (
            files(b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "doc.pdf", mime="application/pdf"),
            422,
        ),
        "password-protected PDF": (files(encrypted_pdf(), "secret.pdf", mime="application/pdf"), 422),
        "PDF of 2 pages": (
            files(pdf_bytes([page("L"), Image.new("L", (360, 40), 255)]), "two.pdf", mime="application/pdf"),
            "document",
        ),
        "PHP script named .png": (files(b"<?php system($_GET['c']); ?>", "shell.png"), 415),
        "HTML named .gif": (files(b"<html><script>alert(1)</script></html>", "x.gif", mime="image/gif"), 415),
        "filename with path traversal": (files(good, "../../../../../tmp/ocrq-traversal.png"), "ok"),
        "unicode filename": (files(good, "发票 (1).png"), "ok"),
        "JSON body of text": ({"json": {"image": "aGVsbG8="}}, 415),  # base64 of "hello": not an image
        "JSON body, not base64": ({"json": {"image": "<svg onload=alert(1)>"}}, 400),
        "JSON body, not an object": ({"json": ["image", "aGVsbG8="]}, 400),
        "no content type": ({"data": good, "headers": {"Content-Type": ""}}, 400),
        "bad enhance option": ({**files(good), "data": {"enhance": "../../etc/passwd"}}, 400),
    }
    answers: dict[str, Answer] = {}
    with requests.Session() as http:
        for name, (kwargs, _) in http_cases.items():
            started = time.monotonic()
            try:
                response = http.post(f"{base}/v1/jobs", timeout=60, **kwargs)
            except requests.ConnectionError:
                answers[name] = Answer(0, None, time.monotonic() - started, closed=True)
                continue
            try:
                body = response.json()
            except ValueError:
                body = {"error": {"code": f"not JSON: {response.text[:80]!r}"}}
            answers[name] = Answer(
                response.status_code,
                (body.get("error") or {}).get("code"),
                time.monotonic() - started,
                job=body.get("job_id"),
            )

    # Requests built by hand: raw multipart bytes, lying lengths, slow and stalled bodies.
    boundary_type = b"multipart/form-data; boundary=XyZ"
    raw_cases: dict[str, tuple[object, object]] = {}

    def raw_multipart(parts, expected):
        body = multipart_body(parts)
        return (lambda: raw_http(port, request_head(port, len(body), boundary_type), [body]), expected)

    raw_cases["filename with control characters"] = raw_multipart(
        [(b"image", good, b"a\x01b\x1b[31m\x7f.png")], "ok"
    )
    raw_cases["non-UTF-8 filename"] = raw_multipart([(b"image", good, b"\xff\xfe\xc3(.png")], 400)
    raw_cases["non-UTF-8 form field"] = raw_multipart(
        [(b"image", good, b"a.png"), (b"enhance", b"\xff\xfe\xfa", None)], 400
    )
    raw_cases["non-UTF-8 field name"] = raw_multipart([(b"\xff\xfeimage", good, b"a.png")], 400)
    body = multipart_body([(b"image", good, b"a.png")])
    raw_cases["multipart without a boundary"] = (
        lambda: raw_http(port, request_head(port, len(body), b"multipart/form-data"), [body]),
        400,
    )
    raw_cases["multipart cut off before its end"] = (
        lambda: raw_http(port, request_head(port, len(body) - 40, boundary_type), [body[:-40]]),
        400,
    )
    raw_cases["huge Content-Length, small body"] = (
        lambda: raw_http(port, request_head(port, 10**12), [good[:100]]),
        413,
    )
    raw_cases["Content-Length under the limit, body stalls"] = (
        lambda: raw_http(port, request_head(port, LIMIT - 1000), [good[:100]]),
        408,
    )
    raw_cases["multipart body stalls"] = (
        lambda: raw_http(port, request_head(port, len(body) + 5000, boundary_type), [body[:200]]),
        408,
    )
    raw_cases["slow upload (2.5 s, finishes)"] = (
        lambda: raw_http(
            port,
            request_head(port, len(good)),
            [good[i : i + 256] for i in range(0, len(good), 256)],
            pause=2.5 / (len(good) / 256),
        ),
        "ok",
    )
    chunked = (
        b"".join(
            f"{len(good[i : i + 300]):x}\r\n".encode() + good[i : i + 300] + b"\r\n"
            for i in range(0, len(good), 300)
        )
        + b"0\r\n\r\n"
    )
    raw_cases["chunked transfer encoding"] = (
        lambda: raw_http(
            port,
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            [chunked],
        ),
        "ok",
    )
    for name, (send, _) in raw_cases.items():
        answers[name] = send()
    expected = {name: case[1] for name, case in {**http_cases, **raw_cases}.items()}

    # The accepted jobs: each ends with a real result, or a documented error code.
    job_ids = {name: a.job for name, a in answers.items() if a.status == 202 and a.job}
    wait_finished(stack.redis(), list(job_ids.values()), timeout=180)
    outcomes = {}
    with requests.Session() as http:
        for name, job_id in job_ids.items():
            outcomes[name] = http.get(f"{base}/v1/jobs/{job_id}", timeout=30).json()

    problems = []
    for name, answer in answers.items():
        want = expected[name]
        if answer.status >= 500 or answer.closed:
            problems.append(f"{name}: {answer}")
        elif want in ("ok", "job", "document"):
            doc = outcomes.get(name)
            if answer.status != 202 or doc is None:
                problems.append(f"{name}: expected 202, got {answer}")
            elif doc["status"] == "succeeded":
                if want == "ok" and not same_text(doc["result"]["text"], TEXT):
                    problems.append(f"{name}: read {doc['result']['text']!r}")
                texts = [p["text"] for p in doc["result"].get("pages", [])]
                if want == "document" and not (texts and same_text(texts[0], TEXT) and not any(texts[1:])):
                    problems.append(f"{name}: read pages {texts!r}")
            elif not (doc["status"] == "failed" and doc["error"]["code"] in JOB_ERRORS and want == "job"):
                problems.append(f"{name}: job ended {doc['status']} {doc.get('error')}")
        elif answer.status != want or answer.code not in DOCUMENTED.get(answer.status, ()):
            problems.append(f"{name}: expected {want}, got {answer.status} {answer.code}")

    children_after = sorted(worker.children())
    api_rss_after = sum(rss_kib(pid) for pid in stack.api.pids())
    worker_rss = max(rss_kib(pid) for pid in children_after)
    figures.stop_clock()
    figures.sent = len(answers)
    figures.accepted = len(job_ids)
    figures.completed = sum(d["status"] == "succeeded" for d in outcomes.values())
    figures.failed = sum(d["status"] == "failed" for d in outcomes.values())
    figures.lost = sum(d["status"] not in ("succeeded", "failed") for d in outcomes.values())
    statuses = [a.status for a in answers.values()]
    figures.extra = {
        "kinds": len(answers),
        "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "answers_5xx": sum(s >= 500 for s in statuses),
        "worker_processes_died": int(children_before != children_after),
        "api_rss_mb": [round(api_rss_before / 1024), round(api_rss_after / 1024)],
        "worker_child_rss_mb": round(worker_rss / 1024),
        "slowest_answer_s": round(max(a.seconds for a in answers.values()), 1),
    }
    figures.report()

    assert len(answers) >= 30
    assert not problems, "\n".join(problems)
    assert figures.lost == 0
    assert children_before == children_after and "exited with" not in worker.log()  # no worker died
    assert not Path("/tmp/ocrq-traversal.png").exists()
    assert not list(Path(stack.base).rglob("*traversal*"))
    # Liveness: a stalled body is cut off after OCRQ_UPLOAD_TIMEOUT, not held forever.
    assert answers["Content-Length under the limit, body stalls"].seconds < UPLOAD_TIMEOUT + 10
    assert answers["huge Content-Length, small body"].seconds < 10
    # Memory stays bounded: the API does not keep what it refused, a worker stays within its budget.
    assert api_rss_after - api_rss_before < 150 * 1024
    assert worker_rss < 1536 * 1024


def test_a_client_still_uploading_reads_the_401_not_a_reset(make_stack):
    """With API keys on, a big upload without a key is answered 401 JSON that the client can read (the
    body is drained within the limits), which is what lets the web page ask for the key."""
    stack = make_stack(workers=0, OCRQ_API_KEYS="k-9bT4wQ2nX7pL", OCRQ_MAX_UPLOAD_BYTES=str(LIMIT))
    noise = encode(Image.effect_noise((400, 400), 80).convert("RGB"), "PNG")[:LIMIT]
    with requests.Session() as http:
        for kwargs in (
            {"files": {"image": ("n.png", noise)}},
            {"data": noise, "headers": {"Content-Type": "image/png"}},
        ):
            response = http.post(f"{stack.url}/v1/jobs", timeout=30, **kwargs)
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
        assert http.get(f"{stack.url}/healthz", timeout=10).status_code == 200
