"""``ocrq ocr IMAGE...``: run the engine in this process, print lines or one JSON object per image."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common.config import ENHANCE_MODES, get_settings
from common.errors import OcrqError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ocr", help="recognise text in image files, in this process (no server needed)")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--enhance", choices=ENHANCE_MODES, default=None,
                        help="image enhancement (default: OCRQ_ENHANCE_DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from common.ocr import OcrEngine  # heavy: onnxruntime and the models load only for this command

    engine = OcrEngine.from_settings(get_settings())
    status = 0
    for path in args.images:
        try:
            result = engine.run(path.read_bytes(), enhance=args.enhance)
        except (OSError, OcrqError) as exc:
            message = exc.message if isinstance(exc, OcrqError) else (exc.strerror or str(exc))
            print(f"ocrq: {path}: {message}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps({"image": str(path), **result.to_dict()}, ensure_ascii=False))
        else:
            if len(args.images) > 1:
                print(f"== {path}")
            for line in result.lines:
                print(f"[{line.confidence:.2f}] {line.text}")
    return status
