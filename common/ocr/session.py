"""onnxruntime sessions built the same way for every model, and a timer for the time spent inside them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def create_session(path: Path, threads: int, memory_arena: bool = True) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads and one inter-op thread.

    Workers run several processes side by side, so the thread count is explicit (never "all cores"), and
    spinning is off: a spinning pool steals the CPU from the other processes between calls.
    ``memory_arena=False`` gives each run's buffers back instead of keeping the arena at its peak: 0.5 GB
    resident between pages (0.8 GB peak) instead of 1.3 GB, for 1.2x the time (bench/results/memory.md).
    """
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = memory_arena
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # the shipped graphs carry shape hints ORT warns about harmlessly
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class TimedModel:
    """One ONNX model with a single input and output; ``elapsed`` accumulates seconds spent in ``run``."""

    def __init__(self, path: Path, threads: int, memory_arena: bool = True) -> None:
        self.path = path
        self.session = create_session(path, threads, memory_arena)
        self.input = self.session.get_inputs()[0]
        self.output_name = self.session.get_outputs()[0].name
        self.elapsed = 0.0

    @property
    def input_shape(self) -> list[int | str | None]:
        return list(self.input.shape)

    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        (output,) = self.session.run([self.output_name], {self.input.name: batch})
        self.elapsed += time.perf_counter() - start
        return output
