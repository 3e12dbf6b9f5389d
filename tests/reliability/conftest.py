"""Fixtures of the reliability suite: a private stack per scenario, and every scenario's figures printed
again at the end of the run."""

from __future__ import annotations

import json

import pytest

from tests.reliability.harness import REPORTS, Stack


@pytest.fixture
def make_stack(tmp_path):
    """``make_stack(concurrency=2, workers=1, api=True, **env)``: a started private stack, stopped after."""
    stacks: list[Stack] = []

    def _make(concurrency: int = 2, workers: int = 1, api: bool = True, **env: str) -> Stack:
        stack = Stack(tmp_path / f"stack{len(stacks)}", concurrency=concurrency, api=api, **env)
        stacks.append(stack)
        return stack.start(workers=workers)

    yield _make
    for stack in stacks:
        stack.stop()


def pytest_terminal_summary(terminalreporter):
    if REPORTS:
        terminalreporter.section("reliability figures")
        for row in REPORTS:
            terminalreporter.write_line(json.dumps(row, ensure_ascii=False))
