import numpy as np
import pytest

from ocrq.ocr.ctc import class_table, greedy_decode, softmax

TABLE = ["", "a", "b", "c"]


def one_hot(seq: list[int], classes: int = 4, p: float = 0.9) -> np.ndarray:
    """(1, T, C) probabilities putting ``p`` on each listed class and the rest spread evenly."""
    probs = np.full((1, len(seq), classes), (1 - p) / (classes - 1), dtype=np.float32)
    for t, c in enumerate(seq):
        probs[0, t, c] = p
    return probs


def test_repeats_merge_and_blanks_separate():
    # a a _ a b b _ _ c  ->  "aabc": a blank between two a's keeps both
    (reading,) = greedy_decode(one_hot([1, 1, 0, 1, 2, 2, 0, 0, 3]), TABLE)
    assert reading.text == "aabc"


def test_all_blank_is_empty_with_zero_confidence():
    (reading,) = greedy_decode(one_hot([0, 0, 0]), TABLE)
    assert reading.text == ""
    assert reading.confidence == 0.0


def test_confidence_is_mean_of_kept_characters():
    probs = one_hot([1, 0, 2])
    probs[0, 0] = [0.1, 0.6, 0.2, 0.1]
    probs[0, 2] = [0.0, 0.0, 1.0, 0.0]
    (reading,) = greedy_decode(probs, TABLE)
    assert reading.text == "ab"
    assert reading.confidence == pytest.approx((0.6 + 1.0) / 2)


def test_random_batch_invariants():
    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(size=(16, 40, 4)).astype(np.float32), axis=2)
    readings = greedy_decode(probs, TABLE)
    assert len(readings) == 16
    for reading in readings:
        assert len(reading.text) <= 40
        assert 0.0 <= reading.confidence <= 1.0
        assert set(reading.text) <= {"a", "b", "c"}


def test_class_table_conventions():
    assert class_table(["a", "b"], 4) == ["", "a", "b", " "]  # blank + charset + space
    assert class_table(["a", "b"], 3) == ["", "a", "b"]  # blank + charset
    assert class_table(["blank", "a", "b"], 3) == ["", "a", "b"]  # index-aligned file
    with pytest.raises(ValueError, match="classes"):
        class_table(["a", "b"], 10)


def test_softmax_rows_sum_to_one():
    out = softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]))
    assert np.allclose(out.sum(axis=1), 1.0)
    assert out[0].argmax() == 2
