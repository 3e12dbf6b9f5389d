import numpy as np
import pytest

from ocrq.ocr.recognize import busy_time, resize_to_height, to_batch


@pytest.mark.parametrize(("h", "w"), [(10, 100), (48, 300), (120, 500), (30, 7)])
@pytest.mark.parametrize("seed", [True, False])
def test_resize_keeps_height_and_aspect(h, w, seed):
    line = np.full((h, w, 3), 200, np.uint8)
    out = resize_to_height(line, 48, min_width=1, max_width=10_000, seed=seed)
    assert out.shape[0] == 48
    assert out.shape[1] == pytest.approx(w * 48 / h, abs=1)


def test_resize_pads_narrow_lines_with_white_to_min_width():
    line = np.zeros((48, 10, 3), np.uint8)
    out = resize_to_height(line, 48, min_width=32, max_width=100, pad_value=255, seed=True)
    assert out.shape == (48, 32, 3)
    assert (out[:, 10:] == 255).all()
    assert (out[:, :10] == 0).all()


def test_resize_squeezes_lines_longer_than_max_width():
    out = resize_to_height(np.zeros((10, 5000, 3), np.uint8), 48, min_width=1, max_width=640)
    assert out.shape == (48, 640, 3)


def test_busy_time_counts_overlapping_runs_once():
    assert busy_time([]) == 0.0
    assert busy_time([(0.0, 1.0), (0.5, 1.5), (3.0, 4.0)]) == pytest.approx(2.5)
    assert busy_time([(2.0, 3.0), (0.0, 5.0)]) == pytest.approx(5.0)


def test_to_batch_scales_to_minus_one_one_and_pads_with_zero():
    lines = [np.full((48, 20, 3), 255, np.uint8), np.zeros((48, 30, 3), np.uint8)]
    batch = to_batch(lines, 48, 8)
    assert batch.shape == (2, 3, 48, 32)
    assert np.allclose(batch[0, :, :, :20], 1.0)
    assert np.allclose(batch[0, :, :, 20:], 0.0)
    assert np.allclose(batch[1, :, :, :30], -1.0)
