"""Where the benchmark datasets are and how to read them, including copies made on demand.

Datasets are read in place from the shared folder (never copied into the repository). ``<source>_<kind>``
names a copy of a source dataset (synth_zh_docs or sroie2019_task1): degraded by shared/tools/degrade.py
(blur1, blur2, motion, lowres, jpeg, dark, mix) or turned by bench/transform.py (rot90, rot180, rot270,
tilt, photo, flipmix). A copy is made once and cached under bench/out/degraded/ or bench/out/transformed/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_ROOT = REPO.parent / "shared" / "datasets"
OUT = REPO / "bench" / "out"
DEFAULT_DATASETS = ("sroie2019_task1", "synth_zh_docs", "synth_zh_docs_mix")
DEGRADE_SOURCE = "synth_zh_docs"
SOURCES = ("synth_zh_docs", "sroie2019_task1")
DEGRADE_KINDS = ("blur1", "blur2", "motion", "lowres", "jpeg", "dark", "mix")
TRANSFORM_KINDS = ("rot90", "rot180", "rot270", "tilt", "photo", "flipmix")
DEGRADE_SEED = 1  # the seed synth_zh_docs_mix was made with


@dataclass(frozen=True)
class Dataset:
    """A labels.jsonl dataset: `pages` are its records, image paths relative to `root`."""

    name: str
    root: Path
    pages: list[dict]

    @property
    def casefold(self) -> bool:
        """SROIE labels are all upper-case whatever the receipt prints, so compare case-insensitively."""
        return self.name.startswith("sroie")

    def image_path(self, page: dict) -> Path:
        return self.root / page["image"]


def read_pages(root: Path, limit: int | None = None) -> list[dict]:
    """The first `limit` records of root/labels.jsonl, in file order."""
    with open(root / "labels.jsonl", encoding="utf-8") as fh:
        pages = [json.loads(line) for line in fh if line.strip()]
    return pages[:limit] if limit else pages


def degraded_copy(data_root: Path, kind: str, source: str = DEGRADE_SOURCE) -> Path:
    """Folder of ``source`` degraded (degrade.py) or turned (bench/transform.py) by ``kind``, made on first
    use (one process, no pool: 2 cores)."""
    if kind not in DEGRADE_KINDS + TRANSFORM_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(DEGRADE_KINDS + TRANSFORM_KINDS)}")
    folder = "degraded" if kind in DEGRADE_KINDS else "transformed"
    dst = OUT / folder / f"{source}_{kind}"
    if (dst / "labels.jsonl").exists():
        return dst
    tmp = dst.with_name(dst.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    if kind in DEGRADE_KINDS:
        tool = data_root.parent / "tools" / "degrade.py"
        print(f"making {dst.name} with {tool} ...", file=sys.stderr)
        cmd = [sys.executable, str(tool), "--src", str(data_root / source), "--out", str(tmp), "--kind", kind,
               "--seed", str(DEGRADE_SEED), "--workers", "1"]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    else:
        from bench.transform import transform_dataset

        print(f"making {dst.name} with bench/transform.py ...", file=sys.stderr)
        transform_dataset(data_root / source, tmp, kind, DEGRADE_SEED)
    tmp.rename(dst)  # only a complete copy is ever seen as cached
    return dst


def load(name: str, data_root: Path, limit: int | None = None) -> Dataset:
    """A dataset by name; `<source>_<kind>` that is not in the shared folder is made here."""
    root = data_root / name
    if not (root / "labels.jsonl").exists():
        for source in SOURCES:
            kind = name[len(source) + 1 :]
            if name.startswith(source + "_") and kind in DEGRADE_KINDS + TRANSFORM_KINDS:
                root = degraded_copy(data_root, kind, source)
    if not (root / "labels.jsonl").exists():
        raise FileNotFoundError(f"no dataset {name!r}: {root / 'labels.jsonl'} does not exist")
    return Dataset(name, root, read_pages(root, limit))
