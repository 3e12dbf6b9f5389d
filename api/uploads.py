"""Reading an upload from a request: multipart field ``image`` or a raw image body, plus options."""

from __future__ import annotations

from flask import Request

from common.config import ENHANCE_MODES, Settings
from common.errors import BadRequest, InvalidOption, PayloadTooLarge
from common.images import ImageInfo, probe

FIELD = "image"


def read_image(request: Request, settings: Settings) -> tuple[bytes, ImageInfo]:
    """The uploaded bytes and what their header says; 400/413/415/422 errors for what is wrong."""
    if request.mimetype == "multipart/form-data":
        files = request.files.getlist(FIELD)
        if not files:
            others = ", ".join(sorted({*request.files, *request.form})) or "none"
            if others == "none" and request.content_length:  # werkzeug drops a body it cannot parse
                raise BadRequest("the multipart body could not be parsed (malformed, or part headers that "
                                 f"are not UTF-8); send the image in the field '{FIELD}'",
                                 code="missing_file")
            raise BadRequest(f"send the image in the multipart field '{FIELD}' (fields received: {others})",
                             code="missing_file")
        if len(files) > 1:
            raise BadRequest(f"send one file in '{FIELD}', not {len(files)}", code="too_many_files")
        data = files[0].read(settings.max_upload_bytes + 1)
    elif request.mimetype.startswith("image/") or request.mimetype == "application/octet-stream":
        data = request.get_data(cache=False)
    else:
        raise BadRequest(
            f"send multipart/form-data with a file field '{FIELD}', or the image itself as the body "
            f"with an image/* content type (got {request.mimetype or 'no content type'})",
            code="missing_file")
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the image is larger than the {settings.max_upload_bytes:,}-byte limit")
    if not data:
        raise BadRequest("the uploaded file is empty", code="empty_file")
    return data, probe(data, settings.max_image_pixels)


def read_options(request: Request, settings: Settings) -> dict[str, str]:
    """Job options from form fields or the query string, validated."""
    enhance = request.values.get("enhance") or settings.enhance_default
    if enhance not in ENHANCE_MODES:
        raise InvalidOption(f"enhance must be one of {', '.join(ENHANCE_MODES)}, not {enhance[:40]!r}")
    options = {"enhance": enhance}
    fault = request.values.get("fault")
    if fault and settings.fault_injection:  # test-only; ignored unless the deployment enables it
        options["fault"] = fault[:40]
    return options
