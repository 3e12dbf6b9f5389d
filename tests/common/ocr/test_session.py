"""The onnxruntime session wrapper: an input larger than ``release_above`` gives the arena back, and the
detector's output does not depend on it."""

from __future__ import annotations

import numpy as np

from ocrq.ocr.session import TimedModel


class RecordingSession:
    """An InferenceSession stand-in that forwards to the real one and records each run's options."""

    def __init__(self, session) -> None:
        self.session = session
        self.options: list[object] = []

    def run(self, names, feeds, run_options=None):
        self.options.append(run_options)
        return self.session.run(names, feeds, run_options)


def test_only_inputs_above_the_limit_release_the_arena_and_outputs_are_unchanged(engine):
    small = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 96)).astype(np.float32)
    large = np.random.default_rng(1).uniform(-1, 1, (1, 3, 256, 320)).astype(np.float32)
    plain = TimedModel(engine.pack.det, threads=1, memory_pattern=False)
    releasing = TimedModel(engine.pack.det, threads=1, memory_pattern=False, release_above=small.size)
    recording = RecordingSession(releasing.session)
    releasing.session = recording
    for batch in (small, large, small):
        np.testing.assert_allclose(releasing(batch), plain(batch), atol=1e-5)
    assert [options is not None for options in recording.options] == [False, True, False]


def test_without_an_arena_nothing_is_released(engine):
    model = TimedModel(engine.pack.det, threads=1, memory_arena=False, release_above=0)
    recording = RecordingSession(model.session)
    model.session = recording
    model(np.zeros((1, 3, 32, 32), np.float32))
    assert recording.options == [None]


def test_the_engine_detects_without_a_memory_pattern_and_releases_above_the_largest_default_input(engine):
    detector = engine.detector.model
    assert detector.session.get_session_options().enable_mem_pattern is False
    max_side = engine.pack.det_params.max_side
    assert detector.release_above is not None and detector.release_above >= 3 * max_side * max_side
