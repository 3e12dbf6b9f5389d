"""ocrq, an OCR service on a message queue. This top level is the HTTP client (``from ocrq import Client``),
which needs only ``requests``; the server halves are ``ocrq.api`` and ``ocrq.worker`` (extras ``api``,
``worker``, ``all``), the engine ``ocrq.ocr``."""

from ocrq.client import ApiError, Batch, Client, ClientError, Job, JobFailed

__all__ = ["ApiError", "Batch", "Client", "ClientError", "Job", "JobFailed"]
