"""The worker's Celery app, built from settings (``celery -A ocrq.worker.celery_app worker``)."""

from celery import Celery

from ocrq.config import get_settings
from ocrq.store import transport
from ocrq.tasks import celery_config
from ocrq.worker import observe  # noqa: F401  (JSON logs, metrics directory: connected before the worker starts)

transport.install()  # a lost Redis connection must not stop the node (ocrq/store/transport.py)
app = Celery("ocrq", include=["ocrq.worker.tasks", "ocrq.worker.documents", "ocrq.worker.webhooks",
                             "ocrq.worker.lifecycle"])
app.conf.update(celery_config(get_settings()))
