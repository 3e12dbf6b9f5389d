"""gunicorn's configuration for the API (``-c python:ocrq.api.gunicorn_conf``; ``ocrq api`` passes it).

- Logs: gunicorn's own (``gunicorn.error``) and its access log go through the same JSON formatter as the
  app's (common/logs.py); an access line keeps method, path, status, size and duration, never headers.
- Metrics: the workers are processes, so prometheus-client runs in multiprocess mode in a directory of
  this run's own, made here in the master before any worker imports the app (common/metrics_dir.py).

The command line sets everything else (bind, workers, threads, timeouts: common/cli/serve.py).
"""

from __future__ import annotations

from ocrq import logs as _logs
from ocrq import metrics_dir as _metrics_dir
from ocrq.config import get_settings as _settings

_metrics_dir.ensure("api")  # at import, in the master: every worker forked later inherits it

logconfig_dict = _logs.dict_config(_settings().log_level, _settings().log_format)


def child_exit(server, worker) -> None:
    """A worker that exits hands back its live-gauge files (prometheus-client's multiprocess protocol)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    _metrics_dir.release()
