"""onnxruntime sessions built the same way for every model, each run timed by its caller's clock."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def create_session(path: Path, threads: int, memory_arena: bool = True,
                   memory_pattern: bool = True) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads and one inter-op thread.

    Workers run several processes side by side, so the thread count is explicit (never "all cores"), and
    spinning is off: a spinning pool steals the CPU from the other processes between calls.
    ``memory_arena=False`` gives each run's buffers back instead of keeping the arena at its peak, for
    1.3x the time (bench/results/memory.md).
    ``memory_pattern=False`` plans no buffer layout per input shape: a model fed inputs of many sizes (the
    detector) otherwise keeps a block for each size in the arena (bench/README.md, "Worker memory").
    """
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = memory_arena
    options.enable_mem_pattern = memory_pattern
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # the shipped graphs carry shape hints ORT warns about harmlessly
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def releasing_run_options() -> ort.RunOptions:
    """Run options that give the CPU arena's free chunks back to the system when the run ends."""
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


class TimedModel:
    """One ONNX model with a single input and output. ``run`` returns the output and the seconds spent
    in onnxruntime; nothing is kept between calls, so threads may share one (onnxruntime's ``run`` is
    thread-safe).

    ``release_above``: a run whose input has more elements than this gives the arena's memory back when
    it ends, so one unusually large input does not keep its buffers for the rest of the process's life.
    """

    def __init__(self, path: Path, threads: int, memory_arena: bool = True, memory_pattern: bool = True,
                 release_above: int | None = None) -> None:
        self.path = path
        self.session = create_session(path, threads, memory_arena, memory_pattern)
        self.input = self.session.get_inputs()[0]
        self.output_name = self.session.get_outputs()[0].name
        self.release_above = release_above if memory_arena else None
        self._releasing = releasing_run_options()

    @property
    def input_shape(self) -> list[int | str | None]:
        return list(self.input.shape)

    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, float]:
        """(output, seconds in onnxruntime) for one input batch."""
        release = self.release_above is not None and batch.size > self.release_above
        start = time.perf_counter()
        (output,) = self.session.run([self.output_name], {self.input.name: batch},
                                     self._releasing if release else None)
        return output, time.perf_counter() - start

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.run(batch)[0]
