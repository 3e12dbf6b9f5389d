"""The HTTP API's contract as pydantic models: the options a client sends and every body the API answers.

The handlers validate options and shape their answers with these models, and ``/openapi.json`` takes its
component schemas from them (``model_json_schema``: JSON Schema 2020-12, the dialect of OpenAPI 3.1), so
the code and the published contract cannot drift apart. Response models ignore fields they do not declare:
a field reaches clients only once it is declared here (``tests/common/test_schemas.py`` checks that the job
record and the engine's result have no field missing here).

To add a job option: declare it in ``JobOptions`` (what a client sends; ``PredictOptions`` if
``/ocr/predict`` takes it too) and ``JobOptionsOut`` (what the job echoes), and keep it in
``api/uploads.py:read_options``; the form fields, query parameters and spec follow.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocrq.config import EnhanceMode
from ocrq.errors import InvalidOption

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
Priority = Literal["high", "normal", "low"]
BatchStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
# A tag is free text for the client's own bookkeeping: one line, bounded (no control characters).
TAG_MAX = 128
CALLBACK_URL_MAX = 2048
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 examples=["2026-11-25T14:03:07.125Z"])]
M = TypeVar("M", bound=BaseModel)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
Point = Annotated[list[float], Field(min_length=2, max_length=2, description="[x, y] in pixels")]


class Response(BaseModel):
    """A body the API sends: fields it does not declare are dropped, never passed through."""

    model_config = ConfigDict(extra="ignore")

    def dump(self) -> dict:
        """The JSON body; a field that was never given (an optional one, like `progress`) is left out."""
        return self.model_dump(mode="json", exclude_unset=True)


# --- what clients send ---------------------------------------------------------------------------

class PredictOptions(BaseModel):
    """Options of `POST /ocr/predict`: multipart form fields, or query parameters (with a raw image body).
    Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    enhance: EnhanceMode | None = Field(
        default=None, examples=["auto"],
        description="What happens to the image before recognition: `off` nothing, `seed` the reference "
                    "design's grayscale + CLAHE + Otsu + resize, `auto` measured rules (larger detection "
                    "when text is small, a second look at unsure lines). Default: `OCRQ_ENHANCE_DEFAULT`.",
    )

    @classmethod
    def parse(cls, values: dict[str, str]) -> Self:
        """Options from form fields or query parameters; ``InvalidOption`` (400) names what is wrong."""
        return parse_values(cls, values)


class JobOptions(PredictOptions):
    """Options of `POST /v1/jobs` and `POST /v1/batches`: those of `/ocr/predict`, and what only an
    asynchronous job can use (a priority in the queue, a tag to echo, a webhook, characters)."""

    chars: bool | None = Field(
        default=None, examples=[True],
        description="Each line's characters (`chars`: text, confidence, box), not only its words, in the "
                    "result: large, so only when asked. `true` or `false`; default `false`.",
    )

    priority: Priority | None = Field(
        default=None, examples=["high"],
        description="Which jobs workers take first: every `high` job waiting before any `normal` one, every "
                    "`normal` before any `low` (a document's pages too). Default: `normal`.",
    )
    tag: str | None = Field(
        default=None, min_length=1, max_length=TAG_MAX, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
        examples=["invoice-2026-0042"],
        description="Free text of yours, echoed in the job's `options` (and in its webhook), like "
                    f"Textract's JobTag: up to {TAG_MAX} characters, no control characters.",
    )
    callback_url: str | None = Field(
        default=None, min_length=1, max_length=CALLBACK_URL_MAX, json_schema_extra={"format": "uri"},
        examples=["https://example.com/ocrq-hook"],
        description="An `http(s)` URL the job document is POSTed to once the job has ended, signed with "
                    "HMAC-SHA256 (`X-Ocrq-Timestamp`, `X-Ocrq-Signature`). Refused (`invalid_option`) when "
                    "the server has no `OCRQ_WEBHOOK_SECRET`, or the host is not allowed: private, "
                    "loopback and link-local addresses only when `OCRQ_WEBHOOK_ALLOWED_HOSTS` lists them.",
    )


class JobQuery(BaseModel):
    """Query of `GET /v1/jobs/{job_id}`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    wait: float = Field(
        default=0, ge=0, allow_inf_nan=False,
        description="Seconds to long-poll: the answer comes as soon as the job is finished, or with its "
                    "current state after this long (capped by `OCRQ_LONG_POLL_MAX`).",
    )

    @classmethod
    def parse(cls, values: dict[str, str]) -> JobQuery:
        return parse_values(cls, values)


class ListQuery(BaseModel):
    """Query of a listing: a page size, where to start, and when the records were created."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=20, ge=1, le=100, description="Records per page (at most 100)")
    cursor: str | None = Field(default=None, max_length=200,
                               description="Where the page starts: from the previous page's `next` link")
    created_after: datetime | None = Field(
        default=None, description="Only records created at or after this instant (ISO 8601; UTC when no "
                                  "offset is given)", examples=["2026-12-01T00:00:00Z"])
    created_before: datetime | None = Field(
        default=None, description="Only records created before this instant (ISO 8601)")

    @field_validator("created_after", "created_before", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        """An ISO 8601 date-time, as the spec says; not a number of seconds (which pydantic would take)."""
        if isinstance(value, str) and not _ISO_DATE.match(value):
            raise ValueError("expected an ISO 8601 date-time, e.g. 2026-12-01T09:30:00Z")
        return value

    @classmethod
    def parse(cls, values: dict[str, str]) -> Self:
        return parse_values(cls, values)

    @staticmethod
    def epoch_ms(moment: datetime | None) -> float | None:
        if moment is None:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000


class JobListQuery(ListQuery):
    """Query of `GET /v1/jobs`."""

    status: JobStatus | None = Field(default=None, description="Only jobs in this state")
    tag: str | None = Field(default=None, min_length=1, max_length=TAG_MAX,
                            description="Only jobs submitted with this `tag` (exactly)")


class BatchListQuery(ListQuery):
    """Query of `GET /v1/batches`."""

    status: BatchStatus | None = Field(default=None, description="Only batches in this state")


def parse_values(model: type[M], values: dict[str, str]) -> M:
    """``values`` (form fields, query parameters) validated by ``model``; ``InvalidOption`` (400) names
    what is wrong."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidOption(problems[:300]) from None


# --- what the API answers ------------------------------------------------------------------------

class Links(Response):
    self: str = Field(description="The job's URL: poll it, or `DELETE` it", examples=["/v1/jobs/2f0c…"])


class ErrorBody(Response):
    code: str = Field(description="Stable, machine-readable: `missing_file`, `invalid_option`, "
                                  "`unauthorized`, `not_found`, `idempotency_conflict`, "
                                  "`payload_too_large`, `unsupported_image`, "
                                  "`image_too_large`, `undecodable_image`, `queue_full`, "
                                  "`key_queue_full`, `key_rate_limited`, "
                                  "`service_unavailable`, `timeout`, `worker_lost`, `upload_expired`, …",
                      examples=["unsupported_image"])
    message: str = Field(description="For people; may change between versions")


class ErrorResponse(Response):
    """Every error the API answers, whatever its status."""

    error: ErrorBody


BOX_DESCRIPTION = ("4 corners in the image's pixels as uploaded, clockwise from the text's own top-left "
                   "corner (on a turned page, not the image's)")


class Word(Response):
    """A word of a line (or one character of it): Latin letters, digits and punctuation between spaces;
    each CJK character a word of its own. Placed by the recogniser's own alignment, along its line."""

    text: str
    confidence: float = Field(ge=0, le=1, description="A word's: the mean of its characters' recognition "
                                                      "probabilities; a character's: its own")
    box: list[Point] = Field(min_length=4, max_length=4, description=BOX_DESCRIPTION + "; a part of the "
                             "line's box, so it follows a tilted line")


class LineBox(Response):
    text: str
    confidence: float = Field(ge=0, le=1)
    box: list[Point] = Field(min_length=4, max_length=4, description=BOX_DESCRIPTION)


class Line(LineBox):
    """One recognised text line, its words, and its characters when the job asked (`chars=true`)."""

    words: list[Word] = Field(default_factory=list, description="In reading order; spaces are not words. "
                              "Always given (a default only for results stored by an older version)")
    chars: list[Word] | None = Field(default=None, description="Every character but spaces, in reading "
                                     "order; only when the job's `chars` option is true (absent otherwise)")


class Block(Response):
    """Lines that belong together (a paragraph, a title, a table), in reading order."""

    box: list[Point] = Field(min_length=4, max_length=4, description="The block's lines' axis-aligned "
                             "bounding box in the image as uploaded, clockwise from its top-left")
    lines: list[int] = Field(description="Indices into the result's `lines`, in reading order")


class OcrResult(Response):
    """What the engine read in one image, lines in reading order."""

    width: int = Field(ge=0, description="of the image as decoded (EXIF orientation applied)")
    height: int = Field(ge=0)
    text: str = Field(description="The lines in reading order: a newline between the lines of a block, "
                                  "a blank line between blocks")
    enhance: EnhanceMode = Field(description="The enhancement mode that ran")
    angle: Literal[0, 90, 180, 270] = Field(
        default=0, description="The clockwise rotation (degrees) that made the page upright before it was "
                               "read; boxes are in the image as uploaded all the same")
    lines: list[Line] = Field(description="In reading order: columns found, each read top to bottom")
    blocks: list[Block] = Field(default_factory=list, description="The lines grouped into blocks, in "
                                                                  "reading order; every line in one")
    timings_ms: dict[str, float] = Field(description="Milliseconds per stage: decode, enhance, det, cls, "
                                                     "rec, retry, onnx, total (stages that ran)")
    model: dict[str, str] = Field(description="The model pack that read it: name, version, …")


class PageWorker(Response):
    node: str
    pid: int


class PageResult(Response):
    """One page of a document, as the engine read it."""

    page: int = Field(ge=1, description="1-based")
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    text: str = Field(description="As in a single image's result")
    angle: Literal[0, 90, 180, 270] = Field(default=0, description="As in a single image's result")
    lines: list[Line] = Field(description="As in a single image's result")
    blocks: list[Block] = Field(default_factory=list, description="As in a single image's result")
    dpi: int | None = Field(default=None, description="The resolution a PDF page was rendered at")
    attempts: int = Field(ge=0)
    worker: PageWorker
    started_at: Timestamp | None = Field(default=None, description="When the worker that read it started")
    timings_ms: dict[str, float]


class DocumentResult(Response):
    """What the engine read in a multi-page document (PDF, multi-page TIFF), page by page."""

    format: str
    page_count: int = Field(ge=1)
    dpi: int | None = None
    enhance: EnhanceMode
    model: dict[str, str]
    pages: list[PageResult]
    text: str = Field(description="The pages' text, separated by a form feed line")


class Progress(Response):
    """A document's pages run as tasks of their own: how many are done."""

    done: int = Field(ge=0)
    total: int = Field(ge=1)


class JobOptionsOut(Response):
    """The options a job runs with (defaults filled in)."""

    enhance: EnhanceMode
    priority: Priority = "normal"
    chars: bool | None = Field(default=None, description="`true` when asked for (lines carry their "
                                                         "characters); absent otherwise")
    tag: str | None = Field(default=None, description="As sent; absent when none was")
    callback_url: str | None = Field(default=None, description="As sent; absent when none was")


class JobSummary(Response):
    """A job as a listing shows it: its state and error, not its result (read the job for that)."""

    job_id: UUID
    status: JobStatus
    created_at: Timestamp
    started_at: Timestamp | None = Field(description="When a worker last started it")
    finished_at: Timestamp | None
    attempts: int = Field(ge=0, description="Deliveries to a worker so far")
    options: JobOptionsOut
    error: ErrorBody | None = Field(description="Set when `status` is `failed`")
    progress: Progress | None = Field(default=None, description="Documents only")
    links: Links


class JobDocument(JobSummary):
    """A job: its state, and its result or error once it is finished."""

    result: OcrResult | DocumentResult | None = Field(description="Set when `status` is `succeeded`")


class JobList(Response):
    """A page of the caller's jobs, newest first."""

    jobs: list[JobSummary]
    next: str | None = Field(description="The next page's URL (the same filters, and a `cursor`); null on "
                                         "the last page", examples=["/v1/jobs?limit=20&cursor=MTc2…"])


def job_document(public: dict, link: str) -> dict:
    """A job's document (``Job.public()`` and its URL) as `GET /v1/jobs/{job_id}` answers it, and as its
    webhook sends it."""
    return JobDocument.model_validate({**public, "links": {"self": link}}).dump()


class JobAccepted(Response):
    job_id: UUID
    status: Literal["queued"]
    progress: Progress | None = Field(default=None, description="Documents only")
    links: Links


class JobRemoved(Response):
    job_id: UUID
    status: Literal["canceled", "deleted"] = Field(
        description="`canceled`: it was queued or running (a worker that receives it skips it); "
                    "`deleted`: it had finished, and its record and result are gone")


class PredictLine(LineBox):
    page: int | None = Field(default=None, ge=1, description="Documents only: the line's page")


class PredictResult(Response):
    """`/ocr/predict` once the job succeeded: the reference design's shape, plus the text and job id."""

    success: Literal[True]
    results: list[PredictLine]
    text: str
    processing_time: float = Field(ge=0, description="Seconds from the request to the result")
    job_id: UUID


class PredictPending(Response):
    """`/ocr/predict` when the job did not finish within `OCRQ_PREDICT_TIMEOUT`: poll the link."""

    success: Literal[False]
    job_id: UUID
    status: JobStatus
    message: str
    links: Links


class PredictFailure(Response):
    """`/ocr/predict` when the job failed in the worker, or was canceled (409)."""

    success: Literal[False]
    error: ErrorBody
    job_id: UUID


class Health(Response):
    status: Literal["ok"]


class Ready(Response):
    status: Literal["ready"]
    workers: int = Field(ge=1, description="Worker nodes whose heartbeat is fresh")
    queue_depth: int = Field(ge=0, description="Jobs waiting to start (held ones included), all keys")


# --- batches (api/batches.py) ---------------------------------------------------------------------



class BatchLinks(Response):
    self: str = Field(description="The URL of the batch, or of the item's job",
                      examples=["/v1/batches/c3a9…"])


class BatchProgress(Response):
    done: int = Field(ge=0, description="Items that succeeded")
    failed: int = Field(ge=0, description="Items that failed, were canceled or refused at submission")
    total: int = Field(ge=1)


class BatchItem(Response):
    """One file of a batch: its job (an ordinary job), or the error that refused it at submission."""

    index: int = Field(ge=0, description="Position of the file in the request, from 0")
    filename: str = Field(description="The name the client gave the file, as text (never a path)")
    job_id: UUID | None = Field(description="null when the file was refused at submission")
    status: JobStatus
    result: OcrResult | DocumentResult | None
    error: ErrorBody | None
    progress: Progress | None = Field(default=None, description="Documents only")
    links: BatchLinks | None = Field(default=None, description="The item's job")


class BatchDocument(Response):
    """A batch: every item's state, and counts."""

    batch_id: UUID
    status: BatchStatus = Field(description="`queued` until an item starts, `running` until every item "
                                            "has ended, then `succeeded` (all), `partial` or `failed` (none)")
    created_at: Timestamp
    finished_at: Timestamp | None
    total: int = Field(ge=1)
    progress: BatchProgress
    items: list[BatchItem]
    links: BatchLinks


class BatchSummary(Response):
    """A batch as a listing shows it: status and counts, not its items (read the batch for those)."""

    batch_id: UUID
    status: BatchStatus
    created_at: Timestamp
    finished_at: Timestamp | None
    total: int = Field(ge=1)
    progress: BatchProgress
    links: BatchLinks


class BatchList(Response):
    """A page of the caller's batches, newest first."""

    batches: list[BatchSummary]
    next: str | None = Field(description="The next page's URL; null on the last page")


class BatchRemoved(Response):
    batch_id: UUID
    status: Literal["deleted"]
    canceled: int = Field(ge=0, description="Items' jobs that were queued or running, now canceled")
    deleted: int = Field(ge=0, description="Items' jobs that had finished, now deleted")


class BatchAccepted(Response):
    batch_id: UUID
    status: BatchStatus
    total: int = Field(ge=1)
    links: BatchLinks
