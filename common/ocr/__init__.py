"""The OCR engine: DBNet text detection and CTC line recognition on onnxruntime. No Flask, Celery or Redis."""

from common.ocr.pipeline import EngineOptions, OcrEngine
from common.ocr.result import OcrLine, OcrResult

__all__ = ["EngineOptions", "OcrEngine", "OcrLine", "OcrResult"]
