"""Celery accepts JSON only: a pickled task message put in the broker is refused, never unpickled."""

from __future__ import annotations

import os
import uuid

from celery import Celery

from ocrq.tasks import OCR_QUEUE, OCR_TASK
from tests.support.stack import wait_for


class Exploit:
    """Unpickling this runs a shell command: what a writable broker would do to a pickle-accepting worker."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_task_message_is_refused_not_run(worker, redis_server, tmp_path):
    marker = tmp_path / "pwned"
    attacker = Celery("attacker", broker=redis_server.url, set_as_current=False)
    attacker.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    task_id = str(uuid.uuid4())
    attacker.send_task(OCR_TASK, args=[Exploit(str(marker))], task_id=task_id, queue=OCR_QUEUE,
                       serializer="pickle")
    wait_for(lambda: "Refusing to deserialize untrusted content of type pickle" in worker.log(), timeout=30)
    assert not marker.exists()
    assert worker.process.poll() is None
