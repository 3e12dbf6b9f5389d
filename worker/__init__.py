"""The Celery worker: a thin app built from settings and the task that runs one OCR job."""
