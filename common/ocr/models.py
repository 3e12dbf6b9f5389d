"""Model packs: which ONNX files make an engine, where they come from, and their hyper-parameters.

Weights are never downloaded: a pack's files are read from an installed, version-pinned PyPI package
(``manifest.json`` records each file's SHA-256, and a mismatch is refused) or from a directory the user
names with ``OCRQ_MODEL_DIR``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
from dataclasses import dataclass, field
from pathlib import Path

from ocrq.errors import ModelError
from ocrq.ocr.detect import DetParams
from ocrq.ocr.orient import OrientParams
from ocrq.ocr.recognize import RecParams

MANIFEST = json.loads((Path(__file__).with_name("manifest.json")).read_text(encoding="utf-8"))
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelPack:
    """The files of one det + rec (+ cls) set and the parameters that go with them."""

    name: str
    version: str
    det: Path
    rec: Path
    cls: Path | None
    keys: Path | None  # charset file; None when the rec model carries it in ONNX metadata ("character")
    det_params: DetParams = field(default_factory=DetParams)
    rec_params: RecParams = field(default_factory=RecParams)
    orient_params: OrientParams = field(default_factory=OrientParams)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "det": self.det.name, "rec": self.rec.name}


# Per-pack hyper-parameters, chosen by bench/accuracy.py (see bench/README.md).
PACK_PARAMS: dict[str, dict] = {
    "ppocrv6": {"det_params": DetParams(), "orient_params": OrientParams(size=(48, 192), keep_aspect=True)},
    "ppocrv5": {
        "det_params": DetParams(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        "orient_params": OrientParams(size=(80, 160), keep_aspect=False, mean=IMAGENET_MEAN,
                                      std=IMAGENET_STD),
    },
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_file(pack: str, role: str, verify: bool) -> Path:
    spec = MANIFEST[pack]
    entry = spec["files"][role]
    try:
        root = importlib.resources.files(spec["package"])
    except ModuleNotFoundError:
        raise ModelError(
            f"model pack {pack!r} needs the package {spec['package']}=={spec['version']}; "
            f"install it with: pip install '{spec['package']}=={spec['version']}'"
        ) from None
    path = Path(str(root.joinpath(entry["path"])))
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall {spec['package']}=={spec['version']}")
    if verify and sha256_of(path) != entry["sha256"]:
        raise ModelError(
            f"{path} does not match the SHA-256 recorded in common/ocr/manifest.json for pack {pack!r}; "
            f"the file is corrupt or from another version: pip install --force-reinstall "
            f"'{spec['package']}=={spec['version']}', or use OCRQ_MODEL_DIR for your own models"
        )
    return path


def load_pack(name: str, model_dir: Path | None = None, verify: bool = True) -> ModelPack:
    """Locate and check the files of pack ``name``, or of the user's own models in ``model_dir``.

    ``model_dir`` must hold ``det.onnx`` and ``rec.onnx``, optionally ``cls.onnx`` and ``keys.txt`` (the
    charset; otherwise the rec model's ONNX metadata ``character``). The named pack's parameters apply.
    """
    if name not in MANIFEST:
        raise ModelError(f"unknown model pack {name!r}; choose one of {sorted(MANIFEST)}")
    params = PACK_PARAMS[name]
    if model_dir is not None:
        files = {role: model_dir / f"{role}.onnx" for role in ("det", "rec", "cls")}
        for role in ("det", "rec"):
            if not files[role].is_file():
                raise ModelError(f"OCRQ_MODEL_DIR={model_dir} has no {role}.onnx")
        keys = model_dir / "keys.txt"
        return ModelPack(
            name=f"custom:{model_dir.name}", version=sha256_of(files["rec"])[:12],
            det=files["det"], rec=files["rec"],
            cls=files["cls"] if files["cls"].is_file() else None,
            keys=keys if keys.is_file() else None, **params,
        )
    spec = MANIFEST[name]
    return ModelPack(
        name=name,
        version=f"{spec['package']}=={_installed_version(spec['package'], spec['version'])}",
        det=_package_file(name, "det", verify),
        rec=_package_file(name, "rec", verify),
        cls=_package_file(name, "cls", verify) if "cls" in spec["files"] else None,
        keys=_package_file(name, "keys", verify) if "keys" in spec["files"] else None,
        **params,
    )


def _installed_version(package: str, expected: str) -> str:
    try:
        return importlib.metadata.version(package.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return expected


def read_charset(keys: Path | None, metadata: dict[str, str]) -> list[str]:
    """The recogniser's charset: from a dict file (one entry per line) or the ONNX ``character`` metadata."""
    if keys is not None:
        text = keys.read_text(encoding="utf-8")
    elif "character" in metadata:
        text = metadata["character"]
    else:
        raise ModelError("the recogniser has no charset: give a keys.txt or ONNX metadata 'character'")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the file, not an entry
    return [line.rstrip("\r") for line in lines]
