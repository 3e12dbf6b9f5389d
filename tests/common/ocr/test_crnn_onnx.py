"""The recogniser is not tied to PP-OCR: a tiny classic CRNN built here with onnx.helper runs through it.

Conv -> ReLU -> Conv collapsing the height -> bidirectional LSTM over the columns -> linear -> softmax.
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ocrq.ocr.recognize import RecParams, TextRecognizer
from ocrq.ocr.session import TimedModel

CHARSET = list("0123456789abc")
HEIGHT, HIDDEN = 32, 8


def build_crnn(path, softmax: bool = True, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    classes = len(CHARSET) + 1  # blank + charset

    def weight(name, *shape):
        return numpy_helper.from_array(rng.normal(0, 0.5, size=shape).astype(np.float32), name)

    inits = [
        weight("conv1_w", 8, 3, 3, 3), weight("conv1_b", 8),
        weight("conv2_w", 16, 8, HEIGHT, 1), weight("conv2_b", 16),
        weight("lstm_w", 2, 4 * HIDDEN, 16), weight("lstm_r", 2, 4 * HIDDEN, HIDDEN),
        weight("lstm_b", 2, 8 * HIDDEN),
        weight("fc_w", 2 * HIDDEN, classes), weight("fc_b", classes),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array([0, 0, 2 * HIDDEN], np.int64), "seq_shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv1_w", "conv1_b"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "conv2_w", "conv2_b"], ["c2"]),  # (N, 16, 1, W)
        helper.make_node("Squeeze", ["c2", "axis2"], ["feat"]),  # (N, 16, W)
        helper.make_node("Transpose", ["feat"], ["seq"], perm=[2, 0, 1]),  # (W, N, 16)
        helper.make_node("LSTM", ["seq", "lstm_w", "lstm_r", "lstm_b"], ["y"], direction="bidirectional",
                         hidden_size=HIDDEN),  # (W, 2, N, H)
        helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1, 3]),  # (W, N, 2, H)
        helper.make_node("Reshape", ["yt", "seq_shape"], ["ys"]),  # (W, N, 2H)
        helper.make_node("MatMul", ["ys", "fc_w"], ["mm"]),
        helper.make_node("Add", ["mm", "fc_b"], ["logits_tn"]),
        helper.make_node("Transpose", ["logits_tn"], ["logits"], perm=[1, 0, 2]),  # (N, W, C)
    ]
    output = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=2))
        output = "probs"
    graph = helper.make_graph(
        nodes, "tiny_crnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, HEIGHT, "W"])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", "W", classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"character": "\n".join(CHARSET)})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def reference_decode(probs: np.ndarray) -> str:
    """A plain loop, written separately from ocrq.ocr.ctc, for one (T, C) sequence."""
    text, previous = [], -1
    for t in range(probs.shape[0]):
        k = int(np.argmax(probs[t]))
        if k != previous and k != 0:
            text.append(CHARSET[k - 1])
        previous = k
    return "".join(text)


@pytest.fixture
def crops():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, size=(HEIGHT, 96, 3), dtype=np.uint8) for _ in range(5)]


def test_tiny_crnn_runs_through_the_recogniser(tmp_path, crops):
    path = tmp_path / "crnn.onnx"
    build_crnn(path)
    model = TimedModel(path, threads=1)
    recognizer = TextRecognizer(model, CHARSET, RecParams())
    assert recognizer.params.height == HEIGHT  # read from the model, not assumed to be 48
    assert recognizer.outputs_probabilities
    recognition = recognizer(crops)
    readings = recognition.readings
    assert recognition.elapsed >= recognition.onnx > 0
    assert len(readings) == len(crops)
    for crop, reading in zip(crops, readings, strict=True):
        single = crop.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0
        expected = reference_decode(model(single)[0])
        assert reading.text == expected
        assert set(reading.text) <= set(CHARSET)
        assert 0.0 <= reading.confidence <= 1.0
    assert any(r.text for r in readings)  # random weights still emit characters


def test_logit_outputs_get_a_softmax(tmp_path, crops):
    build_crnn(tmp_path / "probs.onnx", softmax=True)
    build_crnn(tmp_path / "logits.onnx", softmax=False)
    with_softmax = TextRecognizer(TimedModel(tmp_path / "probs.onnx", 1), CHARSET, RecParams())
    with_logits = TextRecognizer(TimedModel(tmp_path / "logits.onnx", 1), CHARSET, RecParams())
    assert not with_logits.outputs_probabilities
    a, b = with_softmax(crops).readings, with_logits(crops).readings
    assert [r.text for r in a] == [r.text for r in b]
    assert [r.confidence for r in a] == pytest.approx([r.confidence for r in b], abs=1e-5)


def test_charset_that_does_not_fit_the_model_is_refused(tmp_path):
    build_crnn(tmp_path / "crnn.onnx")
    with pytest.raises(ValueError, match="classes"):
        TextRecognizer(TimedModel(tmp_path / "crnn.onnx", 1), CHARSET[:5], RecParams())
