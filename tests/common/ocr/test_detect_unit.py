import numpy as np
import pytest

from ocrq.ocr.detect import (
    DetParams,
    boxes_from_probability,
    detection_size,
    order_corners,
    to_blob,
    unclip,
)


def test_detection_size_is_multiple_of_32_within_limits():
    params = DetParams(min_side=736, max_side=1600)
    for h, w in [(100, 100), (875, 515), (3000, 4000), (50, 2000), (736, 736)]:
        nh, nw = detection_size(h, w, params)
        assert nh % 32 == 0 and nw % 32 == 0
        assert max(nh, nw) <= params.max_side + 16
        assert abs(nh / nw - h / w) < 0.1 * h / w + 32 / min(nh, nw)


def test_blob_normalisation():
    image = np.zeros((40, 60, 3), np.uint8)
    image[..., 2] = 255
    blob = to_blob(image, (32, 64), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert blob.shape == (1, 3, 32, 64)
    assert np.allclose(blob[0, 0], -1.0) and np.allclose(blob[0, 2], 1.0)


def test_db_postprocess_finds_rectangles_and_maps_them_back():
    prob = np.zeros((200, 400), np.float32)
    prob[40:60, 50:250] = 0.9  # a line 200 x 20 map pixels
    prob[120:150, 100:300] = 0.8
    prob[180:182, 10:12] = 0.9  # a speck: too small to be a line
    boxes, scores = boxes_from_probability(prob, DetParams(), scale_xy=(2.0, 3.0), clip_wh=(800, 600))
    assert len(boxes) == 2
    assert ((scores >= DetParams().box_thresh) & (scores <= 0.9)).all()
    first = boxes[np.argmin(boxes[:, :, 1].min(1))]
    # unclipping grows the shrunk kernel, then the box is scaled by (2, 3) back to the original image
    assert first[:, 0].min() < 50 * 2 and first[:, 0].max() > 250 * 2
    assert first[:, 1].min() < 40 * 3 and first[:, 1].max() > 60 * 3
    assert first[:, 1].max() - first[:, 1].min() < 3 * 20 * 3  # grown, but not unbounded


def test_db_postprocess_drops_low_score_regions_and_clips():
    prob = np.zeros((100, 100), np.float32)
    prob[10:30, 10:90] = 0.35  # above thresh 0.3 but below box_thresh 0.5
    prob[60:99, 0:100] = 0.95  # touches the border: clipped to the image
    boxes, _ = boxes_from_probability(prob, DetParams(), scale_xy=(1.0, 1.0), clip_wh=(100, 100))
    assert len(boxes) == 1
    assert boxes[..., 0].min() >= 0 and boxes[..., 0].max() <= 100 and boxes[..., 1].max() <= 100


def test_unclip_grows_a_box():
    box = np.float32([[10, 10], [110, 10], [110, 30], [10, 30]])
    grown = unclip(box, 1.5)
    assert grown[:, 0].min() < 10 and grown[:, 1].max() > 30


@pytest.mark.parametrize("angle", [0, 10, -10, 80])
def test_order_corners_clockwise_from_top_left(angle):
    import cv2

    corners = order_corners(cv2.boxPoints(((100, 100), (80, 20), angle)))
    tl, tr, br, bl = corners
    assert tl[0] < tr[0] or tl[1] < tr[1]
    assert tl[0] + tl[1] <= br[0] + br[1]
    assert bl[0] < br[0] + 1e-3 or bl[1] > br[1]
