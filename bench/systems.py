"""The OCR systems the benchmark compares, behind one interface: `System.run(image_path) -> predictions`.

Each prediction is `(text, confidence, box)` with `box` 4 [x, y] points in the original image's pixels.
Heavy imports happen when a system is built, so the harness runs with the others when one is missing
(the ocrq engine may not exist yet).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import time
from dataclasses import fields, replace
from pathlib import Path

from bench.metric import Prediction

OCRQ_PACKS = ("ppocrv6", "ppocrv5")
OCRQ_MODES = ("off", "seed", "auto")
DEFAULT_SYSTEMS = (
    "ocrq-ppocrv6-off",
    "ocrq-ppocrv6-seed",
    "ocrq-ppocrv6-auto",
    "ocrq-ppocrv5-off",
    "rapidocr",
    "tesseract",
)


class System:
    """An OCR system under test. `last_timings_ms` holds the system's own stage timings, if it reports any."""

    name = "system"

    def __init__(self) -> None:
        self.last_timings_ms: dict[str, float] = {}

    def run(self, image_path: str | Path) -> list[Prediction]:
        raise NotImplementedError


def _box4(points) -> list[list[float]]:
    return [[float(p[0]), float(p[1])] for p in points]


class OcrqSystem(System):
    """ocrq's engine (ocrq.ocr) with a model pack and an enhancement mode, fed the file's bytes.

    `pack` or `enhance` None means the engine's default (Settings, so OCRQ_* variables apply).
    `overrides` ({"det.thresh": "0.2", ...}) replace single hyper-parameters for ablations: see
    `apply_overrides`; the system's name then carries them, so its predictions are saved apart.
    """

    def __init__(
        self,
        pack: str | None = "ppocrv6",
        enhance: str | None = "off",
        threads: int = 2,
        overrides: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        from ocrq.config import Settings
        from ocrq.ocr import OcrEngine

        settings = Settings(ort_threads=threads, **({"model_pack": pack} if pack else {}))
        self.enhance = enhance or settings.enhance_default
        self.name = f"ocrq-{settings.model_pack}-{self.enhance}"
        self.engine = OcrEngine.from_settings(settings)
        if overrides:
            self.name += "[" + ",".join(f"{k}={v}" for k, v in overrides.items()) + "]"
            pack_, options = apply_overrides(self.engine.pack, self.engine.options, overrides)
            self.engine = OcrEngine(pack_, self.engine.threads, options)

    def run(self, image_path: str | Path) -> list[Prediction]:
        result = self.engine.run(Path(image_path).read_bytes(), enhance=self.enhance)
        self.last_timings_ms = dict(result.timings_ms)
        self.last_extra = {"angle": result.angle}
        return [(ln.text, float(ln.confidence), _box4(ln.box)) for ln in result.lines]


class RapidOcrSystem(System):
    """The rapidocr library with its default config (PP-OCRv6 small det/rec + v2 angle classifier)."""

    name = "rapidocr"

    def __init__(self, threads: int = 2, use_cls: bool = True) -> None:
        super().__init__()
        from rapidocr import RapidOCR

        # Only the thread count and log level differ from the defaults (log level changes no result);
        # without its line classifier it runs the like-for-like pipeline of ocrq's defaults.
        params = {"EngineConfig.onnxruntime.intra_op_num_threads": threads, "Global.log_level": "warning"}
        if not use_cls:
            params["Global.use_cls"] = False
            self.name = "rapidocr-nocls"
        self.engine = RapidOCR(params=params)

    def run(self, image_path: str | Path) -> list[Prediction]:
        out = self.engine(str(image_path))
        if out.boxes is None or out.txts is None:
            return []  # rapidocr reports "no text" as None fields
        self.last_timings_ms = {"total": 1000.0 * float(out.elapse)}
        return [(t, float(s), _box4(b)) for b, t, s in zip(out.boxes, out.txts, out.scores, strict=True)]


class FasterPaddleSystem(System):
    """faster-paddle (PyPI): PP-OCRv6 in Rust + its own onnxruntime, the small model from its wheel, its
    defaults (which spin threads and run lines on parallel workers) but the thread count."""

    name = "faster-paddle-small"

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        from faster_paddle import OcrEngine

        self.engine = OcrEngine(model_size="small", threads=threads)

    def run(self, image_path: str | Path) -> list[Prediction]:
        start = time.perf_counter()
        out = self.engine.ocr(Path(image_path).read_bytes())
        self.last_timings_ms = {"total": 1000.0 * (time.perf_counter() - start)}
        lines = []
        for bound in out["bounds"].values():
            (x0, y0), (x1, y1) = bound["topLeftCoord"], bound["bottomRightCoord"]
            lines.append((bound["text"], float(bound["confidence"]),
                          [[float(x0), float(y0)], [float(x1), float(y0)], [float(x1), float(y1)],
                           [float(x0), float(y1)]]))
        return lines


class TesseractSystem(System):
    """Tesseract 5 (chi_sim+eng, automatic page segmentation), words grouped into its own text lines."""

    name = "tesseract"

    def __init__(self, langs: str = "chi_sim+eng", psm: int = 3, threads: int | None = None) -> None:
        super().__init__()
        self.cmd = ["tesseract", "{image}", "stdout", "-l", langs, "--psm", str(psm), "tsv"]
        self.env = dict(os.environ, OMP_THREAD_LIMIT=str(threads)) if threads else None

    def run(self, image_path: str | Path) -> list[Prediction]:
        cmd = [str(image_path) if c == "{image}" else c for c in self.cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=self.env)
        return tesseract_lines(proc.stdout)


def tesseract_lines(tsv: str) -> list[Prediction]:
    """Group Tesseract TSV words (level 5) by (page, block, paragraph, line): words joined by a space,
    confidence the mean word confidence in [0, 1], box the union of the word boxes."""
    lines: dict[tuple[str, ...], list[tuple[str, float, int, int, int, int]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row["level"] != "5" or not text:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        x, y, w, h = (int(row[k]) for k in ("left", "top", "width", "height"))
        lines.setdefault(key, []).append((text, float(row["conf"]), x, y, x + w, y + h))
    preds = []
    for words in lines.values():
        x0, y0 = min(w[2] for w in words), min(w[3] for w in words)
        x1, y1 = max(w[4] for w in words), max(w[5] for w in words)
        conf = sum(max(w[1], 0.0) for w in words) / len(words) / 100.0
        preds.append((" ".join(w[0] for w in words), conf, _box4([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])))
    return preds


# Where an override's group prefix points: a path of attributes from the pack or the engine options.
OVERRIDE_GROUPS: dict[str, tuple[str, ...]] = {
    "det": ("pack", "det_params"),
    "rec": ("pack", "rec_params"),
    "opt": ("options",),
    "seed": ("options", "seed_steps"),
    "auto": ("options", "auto"),
    "retry": ("options", "auto", "retry"),
    "seg": ("options", "segment"),
    "up": ("options", "upright"),
}


def _coerce(text: str, current: object) -> object:
    """An override's text as the type of the value it replaces (bool, int, float, tuple or str); `none`
    clears an optional value, and a number sets one that is None."""
    if text.lower() == "none":
        return None
    if current is None:
        return float(text)
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"expected true/false, got {text!r}")
        return text.lower() in ("true", "1")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, tuple):
        return tuple(item for item in text.split("+") if item)  # tuples of names: a+b+c
    return text


def _replace_path(obj, path: tuple[str, ...], field: str, text: str):
    """``obj`` with the dataclass at attribute ``path`` given ``field = text`` (coerced)."""
    if path:
        return replace(obj, **{path[0]: _replace_path(getattr(obj, path[0]), path[1:], field, text)})
    names = {f.name for f in fields(obj)}
    if field not in names:
        raise ValueError(f"{type(obj).__name__} has no field {field!r}; fields: {sorted(names)}")
    return replace(obj, **{field: _coerce(text, getattr(obj, field))})


def apply_overrides(pack, options, overrides: dict[str, str]):
    """(ModelPack, EngineOptions) with `group.field=value` overrides applied: groups `det` and `rec` are the
    pack's DetParams and RecParams, `opt` the EngineOptions, `seed`, `auto` and `retry` dataclasses nested in
    them (OVERRIDE_GROUPS). Tuple values are written `a+b`."""
    for key, text in overrides.items():
        group, _, field = key.partition(".")
        if group not in OVERRIDE_GROUPS or not field:
            raise ValueError(f"override {key!r}: use <{'|'.join(OVERRIDE_GROUPS)}>.<field>=<value>")
        root, *path = OVERRIDE_GROUPS[group]
        if root == "pack":
            pack = _replace_path(pack, tuple(path), field, text)
        else:
            options = _replace_path(options, tuple(path), field, text)
    return pack, options


def parse_overrides(text: str) -> dict[str, str]:
    """`a.b=1,c.d=x` -> {"a.b": "1", "c.d": "x"} (the bracketed part of a system name)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"overrides must be key=value pairs, got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def split_systems(text: str) -> list[str]:
    """Split a comma-separated system list, keeping commas inside an override bracket."""
    return [s for s in re.findall(r"[^,\[]+(?:\[[^\]]*\])?", text) if s]


def make_system(name: str, threads: int = 2) -> System:
    """Build a system by name: `ocrq-<pack>-<mode>`, `ocrq` (engine defaults), `rapidocr` or `tesseract`.

    An ocrq name may end in `[group.field=value,...]` to override hyper-parameters (`apply_overrides`),
    e.g. `ocrq-ppocrv6-auto[det.min_side=960,opt.min_confidence=0.4]`.
    """
    if name == "rapidocr":
        return RapidOcrSystem(threads)
    if name == "rapidocr-nocls":
        return RapidOcrSystem(threads, use_cls=False)
    if name == "faster-paddle-small":
        return FasterPaddleSystem(threads)
    if name == "tesseract":
        return TesseractSystem()
    base, bracket, rest = name.partition("[")
    overrides = parse_overrides(rest.rstrip("]")) if bracket else None
    if base == "ocrq":  # the engine's defaults, saved and scored under the name asked for
        system = OcrqSystem(None, None, threads, overrides)
        system.name = name
        return system
    parts = base.split("-")
    if len(parts) == 3 and parts[0] == "ocrq" and parts[1] in OCRQ_PACKS and parts[2] in OCRQ_MODES:
        return OcrqSystem(parts[1], parts[2], threads, overrides)
    raise ValueError(
        f"unknown system {name!r}: use ocrq, ocrq-<{'|'.join(OCRQ_PACKS)}>-<{'|'.join(OCRQ_MODES)}>"
        "[group.field=value,...], rapidocr or tesseract"
    )
