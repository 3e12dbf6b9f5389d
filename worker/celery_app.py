"""The worker's Celery app, built from settings (``celery -A worker.celery_app worker``)."""

from celery import Celery

from common.config import get_settings
from common.tasks import celery_config
from worker import observe  # noqa: F401  (JSON logs, metrics directory: connected before the worker starts)

app = Celery("ocrq", include=["worker.tasks", "worker.documents", "worker.webhooks", "worker.lifecycle"])
app.conf.update(celery_config(get_settings()))
