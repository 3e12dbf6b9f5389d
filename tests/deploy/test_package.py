"""The built wheel: one import package, ``ocrq``, and a client-only install that brings no server parts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("celery", "flask", "onnxruntime", "numpy", "pillow", "gunicorn", "pypdfium2", "redis")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the build writes egg-info and build/ where it runs)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("common", "api", "worker"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, timeout=300)
    (built,) = out.glob("ocrq-*.whl")
    return built


def test_the_wheel_has_one_top_level_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert archive.read(top_level).decode().split() == ["ocrq"]
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"ocrq"}
    for shipped in ("ocrq/api/web/static/index.html", "ocrq/ocr/manifest.json", "ocrq/worker/celery_app.py"):
        assert shipped in names
    # every module of the three folders, at its place in the package (a subpackage left out of
    # pyproject's list would be missing from the wheel, though an editable install still finds it)
    places = {"common": "ocrq", "api": "ocrq/api", "worker": "ocrq/worker"}
    modules = {f"{places[folder]}/{path.relative_to(ROOT / folder)}" for folder in places
               for path in (ROOT / folder).rglob("*.py")}
    assert modules - set(names) == set()


def test_a_client_only_install_needs_no_server_parts(wheel, tmp_path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt", wheel],
                   check=True, timeout=300)
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True,
                            text=True, check=True).stdout.lower()
    installed = {line.split("==")[0] for line in listed.split()}
    assert not installed & set(SERVER_PACKAGES), installed
    assert {"requests", "tqdm", "ocrq"} <= installed
    probe = "from ocrq import Client; import ocrq.cli; print(Client('http://127.0.0.1:9').base_url)"
    assert subprocess.run([python, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "http://127.0.0.1:9"
    ocrq = target / "bin" / "ocrq"
    for command, extra in (("up", "all"), ("api", "api"), ("worker", "worker"), ("ocr", "worker")):
        args = [ocrq, command] + (["x.png"] if command == "ocr" else [])
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and f"pip install 'ocrq[{extra}]'" in done.stderr, done.stderr
    version = subprocess.run([ocrq, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("ocrq ")
