"""Where the benchmark datasets are and how to read them, including degraded copies made on demand.

Datasets are read in place from the shared folder (never copied into the repository). A degraded copy
of synth_zh_docs is made once with shared/tools/degrade.py and cached under bench/out/degraded/.
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
DEGRADE_KINDS = ("blur1", "blur2", "motion", "lowres", "jpeg", "dark", "mix")
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


def degraded_copy(data_root: Path, kind: str) -> Path:
    """Folder of synth_zh_docs degraded by `kind`, made on first use (one process, no pool: 2 cores)."""
    if kind not in DEGRADE_KINDS:
        raise ValueError(f"unknown degradation {kind!r}; choose from {', '.join(DEGRADE_KINDS)}")
    dst = OUT / "degraded" / f"{DEGRADE_SOURCE}_{kind}"
    if (dst / "labels.jsonl").exists():
        return dst
    tool = data_root.parent / "tools" / "degrade.py"
    tmp = dst.with_name(dst.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"making {dst.name} with {tool} ...", file=sys.stderr)
    cmd = [
        sys.executable,
        str(tool),
        "--src",
        str(data_root / DEGRADE_SOURCE),
        "--out",
        str(tmp),
        "--kind",
        kind,
        "--seed",
        str(DEGRADE_SEED),
        "--workers",
        "1",
    ]
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    tmp.rename(dst)  # only a complete copy is ever seen as cached
    return dst


def load(name: str, data_root: Path, limit: int | None = None) -> Dataset:
    """A dataset by name; `synth_zh_docs_<kind>` for a kind that is not in the shared folder is made here."""
    root = data_root / name
    prefix = DEGRADE_SOURCE + "_"
    if (
        not (root / "labels.jsonl").exists()
        and name.startswith(prefix)
        and name[len(prefix) :] in DEGRADE_KINDS
    ):
        root = degraded_copy(data_root, name[len(prefix) :])
    if not (root / "labels.jsonl").exists():
        raise FileNotFoundError(f"no dataset {name!r}: {root / 'labels.jsonl'} does not exist")
    return Dataset(name, root, read_pages(root, limit))
