"""The multiprocess metrics directory: a run makes its own and removes it; one given from outside is used
as it is; what a SIGKILLed run left behind is swept."""

from __future__ import annotations

import os
import tempfile

from prometheus_client import values

from ocrq import metrics_dir
from ocrq.metrics_dir import ENV


def test_a_run_makes_its_own_directory_and_removes_it(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # put back after the test
    dead = tmp_path / "ocrq-metrics-worker-999999999-abc"  # no process can have that pid
    alive = tmp_path / f"ocrq-metrics-api-{os.getpid()}-xyz"
    dead.mkdir()
    alive.mkdir()

    path = metrics_dir.ensure("worker")
    assert os.environ[ENV] == str(path) and path.is_dir() and path.parent == tmp_path
    assert values.ValueClass is not values.MutexValue  # imported earlier, switched to the files all the same
    assert not dead.exists() and alive.exists()
    metrics_dir.release()
    assert not path.exists() and ENV not in os.environ


def test_a_directory_given_from_outside_is_used_and_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    assert metrics_dir.ensure("api") == tmp_path
    metrics_dir.release()
    assert tmp_path.is_dir() and os.environ[ENV] == str(tmp_path)
