"""OCRQ_WORKER_QUEUES: which broker queues an `ocrq worker` node asks for, in which order."""

import pydantic
import pytest

from ocrq.cli.serve import worker_command
from ocrq.config import Settings
from ocrq.tasks import consumed_queues, consumes_ocr


def queues_flag(settings: Settings) -> str:
    command = worker_command(settings, concurrency=1)
    return command[command.index("--queues") + 1]


def test_webhooks_then_ocr_by_priority_whatever_order_they_are_named_in():
    assert queues_flag(Settings()) == "webhooks,ocr.high,ocr,ocr.low"
    assert consumed_queues("ocr, webhooks") == ("webhooks", "ocr.high", "ocr", "ocr.low")
    assert queues_flag(Settings(worker_queues="ocr")) == "ocr.high,ocr,ocr.low"
    assert queues_flag(Settings(worker_queues="webhooks")) == "webhooks"
    assert consumes_ocr("ocr") and consumes_ocr("webhooks,ocr") and not consumes_ocr("webhooks")


@pytest.mark.parametrize("spec", ["", "pdf", "ocr,pdf", "ocr;webhooks", "ocr,webhooks,ocr"])
def test_anything_else_is_refused_at_start(spec):
    with pytest.raises(pydantic.ValidationError):
        Settings(worker_queues=spec)
