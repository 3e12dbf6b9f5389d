"""The OCR engine: DBNet text detection and CTC line recognition on onnxruntime. No Flask, Celery or Redis."""

from ocrq.ocr.pipeline import EngineOptions, OcrEngine
from ocrq.ocr.result import OcrLine, OcrResult

__all__ = ["EngineOptions", "OcrEngine", "OcrLine", "OcrResult"]
