"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from common.config import Settings


@pytest.fixture(scope="session")
def engine():
    """One loaded engine (default model pack, 2 threads) for the whole session: loading is not free."""
    from common.ocr import OcrEngine

    return OcrEngine.from_settings(Settings(ort_threads=2))
