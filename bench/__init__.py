"""Benchmark harness: end-to-end CER of ocrq against RapidOCR and Tesseract, and ocrq's speed.

Not part of the installed package; run the scripts from the repository root (see bench/README.md).
"""
