"""The exceptions ocrq raises, each with a stable machine-readable code and the HTTP status it maps to.

Only the HTTP edge (api/) turns these into responses; the engine and the worker just raise them.
"""

from __future__ import annotations


class OcrqError(Exception):
    """Base of every error ocrq raises on purpose."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class BadRequest(OcrqError):
    """The request is malformed: a missing file, an unknown option."""

    code = "bad_request"
    http_status = 400


class InvalidOption(BadRequest):
    code = "invalid_option"


class NotFound(OcrqError):
    code = "not_found"
    http_status = 404


class IdempotencyConflict(OcrqError):
    """An Idempotency-Key used again with a different request (or while its first request still runs:
    ``idempotency_in_progress``)."""

    code = "idempotency_conflict"
    http_status = 409


class RequestTimeout(OcrqError):
    """The client did not send the whole request body within OCRQ_UPLOAD_TIMEOUT seconds."""

    code = "request_timeout"
    http_status = 408


class PayloadTooLarge(OcrqError):
    code = "payload_too_large"
    http_status = 413


class UnsupportedImage(OcrqError):
    """The bytes are not an image in a format ocrq reads (JPEG, PNG, BMP, TIFF, WebP, GIF)."""

    code = "unsupported_image"
    http_status = 415


class UndecodableImage(OcrqError):
    """The bytes claim a supported format but cannot be decoded (truncated, corrupt)."""

    code = "undecodable_image"
    http_status = 422


class ImageTooLarge(OcrqError):
    """The image has more pixels than the configured limit (checked from the header, before decoding)."""

    code = "image_too_large"
    http_status = 422


class UndecodableDocument(OcrqError):
    """A PDF that PDFium cannot read (corrupt, truncated, no pages)."""

    code = "undecodable_document"
    http_status = 422


class EncryptedDocument(OcrqError):
    """A password-protected PDF: ocrq has no password to open it with."""

    code = "encrypted_document"
    http_status = 422


class TooManyPages(OcrqError):
    """A document with more pages than OCRQ_MAX_PAGES."""

    code = "too_many_pages"
    http_status = 422


class QueueFull(OcrqError):
    """Too many jobs waiting (``queue_full``: the server's bound; ``key_queue_full``: the API key's), or
    the key submitted too many this minute (``key_rate_limited``); answered with Retry-After."""

    code = "queue_full"
    http_status = 429

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ServiceUnavailable(OcrqError):
    code = "service_unavailable"
    http_status = 503


class ModelError(OcrqError):
    """A model file is missing, unreadable, or does not match its recorded checksum."""

    code = "model_error"
    http_status = 500


class ConfigError(OcrqError):
    """A setting that cannot work; raised at start-up so a bad deployment fails fast."""

    code = "config_error"
    http_status = 500


# Codes a worker writes into a job record without raising an OcrqError: none is the client's fault.
WORKER_FAILURE_STATUS = {
    "timeout": 504,  # the image took longer than OCRQ_TASK_SOFT_TIME_LIMIT
    "upload_expired": 503,  # the queue was too long for OCRQ_UPLOAD_TTL_SECONDS
    "worker_lost": 502,  # the job killed its worker OCRQ_MAX_ATTEMPTS times
}


def status_for_code(code: str) -> int:
    """The HTTP status for an error code stored in a job record (e.g. a worker's ``undecodable_image``)."""
    if code in WORKER_FAILURE_STATUS:
        return WORKER_FAILURE_STATUS[code]
    for cls in _all_subclasses(OcrqError):
        if cls.code == code:
            return cls.http_status
    return 500


def _all_subclasses(cls: type[OcrqError]) -> list[type[OcrqError]]:
    found: list[type[OcrqError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


class NotAcceptable(OcrqError):
    """The request's ``Accept`` names no format the resource is offered in."""

    code = "not_acceptable"
    http_status = 406


class ResultNotReady(OcrqError):
    """A job's output asked for before the job has succeeded: ``not_finished`` (queued or running: poll
    it), ``no_result`` (it failed or was canceled)."""

    code = "not_finished"
    http_status = 409


class UploadGone(OcrqError):
    """The upload an output is drawn from is no longer stored (OCRQ_KEEP_UPLOADS off, or expired)."""

    code = "upload_gone"
    http_status = 410
