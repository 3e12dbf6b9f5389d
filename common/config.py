"""One settings object, read from environment variables (prefix ``OCRQ_``, plus ``REDIS_URL``).

Defaults run everything on one machine. Model hyper-parameters (thresholds, input sizes) are not here:
they live beside the models in ``common/ocr/models.py``.
"""

from __future__ import annotations

import os
import typing
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocrq.errors import ConfigError

EnhanceMode = Literal["off", "seed", "auto"]
ENHANCE_MODES: tuple[str, ...] = ("off", "seed", "auto")


class Settings(BaseSettings):
    """Every setting of ocrq; the README's configuration table lists the same names and defaults."""

    model_config = SettingsConfigDict(env_prefix="OCRQ_", extra="ignore", frozen=True)

    # --- engine ---
    model_pack: Literal["ppocrv6", "ppocrv5"] = "ppocrv6"
    model_dir: Path | None = None
    enhance_default: EnhanceMode = "auto"
    # Pages turned 90, 180 or 270 degrees read upright (the result says which turn: ``angle``).
    page_orientation: bool = True
    # Each line classified upright or upside down and turned (a page's lines all are by page_orientation).
    use_orientation: bool = False
    ort_threads: int | None = Field(default=None, ge=1, le=64)
    # onnxruntime's CPU memory arena: off makes a page 1.3x slower and saves no memory since the
    # detector runs without a memory pattern (0.45 vs 0.46 GB after 20 pages, bench/results/memory.md)
    ort_memory_arena: bool = True
    max_image_pixels: int = Field(default=40_000_000, ge=1)

    # --- service ---
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "OCRQ_REDIS_URL"))
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    data_dir: Path = Path(".ocrq")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Seconds a client has, from its first byte, to send its request line, headers and whole body,
    # however it trickles them (a wall-clock deadline: ocrq/api/limits.py).
    upload_timeout: float = Field(default=60.0, gt=0)
    job_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    upload_ttl_seconds: int = Field(default=6 * 3600, ge=1)
    # A succeeded job keeps its upload as long as its result (OCRQ_JOB_TTL_SECONDS), for the searchable
    # PDF and the page images; off: the upload goes when the job ends (Redis holds only the results).
    keep_uploads: bool = True
    # Jobs waiting (not started; held ones included) on the whole server: a memory bound, which refuses
    # only keys that have jobs waiting already (README, Fair sharing).
    max_queue_depth: int = Field(default=1000, ge=1)
    # Fair sharing between API keys (ocrq/store/shares.py): tasks in flight per key (a document's pages
    # count one each); 0: the OCR processes of the live worker nodes, so one key alone keeps them busy.
    key_in_flight: int = Field(default=0, ge=0)
    key_max_queued: int = Field(default=0, ge=0)  # jobs waiting per key; 0: no limit of its own
    key_jobs_per_minute: int = Field(default=0, ge=0)  # jobs submitted per key per minute; 0: no limit
    max_attempts: int = Field(default=3, ge=1)
    task_soft_time_limit: int = Field(default=120, ge=1)
    task_time_limit: int = Field(default=150, ge=1)
    predict_timeout: float = Field(default=30.0, gt=0)
    long_poll_max: float = Field(default=30.0, gt=0)
    worker_concurrency: int | None = Field(default=None, ge=1)
    # What an `ocrq worker` node consumes: `webhooks`, `ocr` (every priority) or both, comma-separated.
    # A node without `ocr` loads no model: give webhooks processes of their own (README, Webhooks).
    worker_queues: str = Field(default="webhooks,ocr",
                               pattern=r"^\s*(webhooks|ocr)\s*(,\s*(webhooks|ocr)\s*)?$")
    api_workers: int = Field(default=2, ge=1)
    # Connections one API process serves at once: gevent greenlets, so a long-poll or a slow client
    # costs a socket and a little memory, not a thread (common/cli/serve.py).
    api_connections: int = Field(default=1000, ge=1)
    # Seconds between the reconciler's passes; also how old a pending job must be before it is checked.
    reconcile_interval: float = Field(default=10.0, gt=0)
    # Comma-separated API keys; empty: the API is open (see SECURITY.md).
    api_keys: str = Field(default="", repr=False)
    # A form field, JSON member or query parameter an endpoint does not know is refused (400
    # invalid_option) rather than ignored; false lets clients that must send extras through.
    strict_options: bool = True
    # Origins a browser app may call the API from (CORS), comma-separated, or `*`; empty: none (off).
    cors_origins: str = ""
    # Test-only fault injection; never set in production (see README).
    fault_injection: bool = False

    # --- observability ---
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # A worker's own /metrics (its pool's processes added up); unset: off. The API serves /metrics itself.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    # --- documents and batches ---
    # A PDF or multi-page TIFF becomes one job whose pages are tasks of their own (worker/documents.py).
    max_pages: int = Field(default=100, ge=1)
    pdf_dpi: int = Field(default=150, ge=36, le=600)
    max_batch_items: int = Field(default=100, ge=1)
    max_batch_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)

    # --- webhooks, idempotency (common/webhooks.py, common/callback_url.py, common/idempotency.py) ---
    # Signs every webhook (HMAC-SHA256); empty: `callback_url` is refused (an unsigned webhook can be forged).
    webhook_secret: str = Field(default="", repr=False)
    # Comma-separated hosts a callback may go to: names, `*.example.com`, IP addresses or networks (CIDR).
    # Empty: any host whose addresses are all public; private, loopback and link-local ones only if listed.
    webhook_allowed_hosts: str = ""
    webhook_timeout: float = Field(default=10.0, gt=0, le=60)  # seconds for one delivery attempt
    webhook_backoff: float = Field(default=2.0, gt=0)  # seconds before the first retry; doubles each time
    webhook_retry_seconds: float = Field(default=3600.0, gt=0)  # after the job's end, retries stop: given up
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)  # how long an Idempotency-Key is kept

    @field_validator("model_dir")
    @classmethod
    def _model_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("not a directory")
        return value

    def model_post_init(self, __context: object) -> None:
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ConfigError("OCRQ_TASK_TIME_LIMIT must be greater than OCRQ_TASK_SOFT_TIME_LIMIT")

    @property
    def api_key_set(self) -> tuple[bytes, ...]:
        """The configured API keys as bytes (OCRQ_API_KEYS, comma-separated; blanks ignored)."""
        return tuple(k.strip().encode() for k in self.api_keys.split(",") if k.strip())

    @property
    def visibility_timeout(self) -> int:
        """Redis redelivers an unacknowledged task after this; it must outlive the hard time limit."""
        return self.task_time_limit * 2 + 60

    def threads_per_process(self, processes: int = 1) -> int:
        """onnxruntime intra-op threads for one of ``processes`` worker processes (processes x threads <=
        cores)."""
        if self.ort_threads is not None:
            return self.ort_threads
        return max(1, (os.cpu_count() or 1) // max(1, processes))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def settings_error_line(exc: ValidationError) -> str | None:
    """A refused ``Settings`` as one line naming each environment variable, its value and what it takes
    (``OCRQ_LOG_FORMAT='yaml': expected one of json, text``), for the command line to print instead of a
    traceback naming the field; None when ``exc`` is not about Settings."""
    if exc.title != Settings.__name__:
        return None
    return "; ".join(_variable_error(error) for error in exc.errors())


def _variable_error(error) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    info = Settings.model_fields.get(field)
    names = [f"OCRQ_{field.upper()}"]
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        names = [str(choice) for choice in info.validation_alias.choices]
    variable = next((name for name in names if name in os.environ), names[0])
    if error["type"] == "literal_error" and info is not None:
        expected = "expected one of " + ", ".join(str(choice) for choice in typing.get_args(info.annotation))
    else:
        expected = error["msg"].removeprefix("Value error, ")
        if expected[1:2].islower():  # "Input should be..." reads on after the colon; a name is kept
            expected = expected[:1].lower() + expected[1:]
    value = os.environ.get(variable, error.get("input"))
    return f"{variable}={value!r}: {expected}"
