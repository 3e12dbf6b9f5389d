"""What ``ocrq submit`` sends: files as given and folders walked for images and documents, each with the
name its output and its Idempotency-Key are derived from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ocrq.cli.failures import BAD_INPUT, Fatal

# What the server reads (ocrq/images.py SUPPORTED_FORMATS, and PDF: ocrq/documents.py) by the file names
# Pillow gives those formats; a folder's other files are left out. tests/cli check the two agree.
EXTENSIONS = frozenset({".bmp", ".gif", ".jpe", ".jpeg", ".jpg", ".jfif", ".mpo", ".pdf", ".png", ".tif",
                        ".tiff", ".webp"})
KEY_MAX = 255  # the server's limit on an Idempotency-Key (api/idempotency.py)


@dataclass(frozen=True)
class Input:
    """One file to send: ``path`` as found (what output lines name), ``name`` the path relative to the
    folder it was found in, or the file's name when it was given itself (what ``--out`` mirrors)."""

    path: Path
    name: str


def collect(arguments: list[Path]) -> tuple[list[Input], bool]:
    """The inputs of ``ocrq submit``'s arguments, in order: a file as it is (whatever its name), a folder
    as its images and documents, recursively, sorted by relative path, hidden files and folders left
    out; a file met twice is sent once. Also whether any argument was a folder. ``Fatal`` (exit 2) for a
    missing path or a folder holding nothing to send."""
    found: list[Input] = []
    seen: set[Path] = set()
    any_folder = False
    for argument in arguments:
        if argument.is_dir():
            any_folder = True
            inside = [Input(path, path.relative_to(argument).as_posix()) for path in _walk(argument)]
            if not inside:
                raise Fatal(BAD_INPUT, f"{argument}: no images or documents in it or its subfolders "
                                       f"(looked for {', '.join(sorted(EXTENSIONS))})")
        elif argument.is_file():
            inside = [Input(argument, argument.name)]
        else:
            raise Fatal(BAD_INPUT, f"{argument}: no such file or folder")
        for item in inside:
            if item.path.resolve() not in seen:
                seen.add(item.path.resolve())
                found.append(item)
    return found, any_folder


def _walk(folder: Path) -> list[Path]:
    paths = []
    for path in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not hidden and path.suffix.lower() in EXTENSIONS and path.is_file():
            paths.append(path)
    return sorted(paths, key=lambda p: p.relative_to(folder).as_posix())


def refuse_same_names(inputs: list[Input], why: str) -> None:
    """``Fatal`` (exit 2) when two inputs share a name, which ``why`` (``--out``, a derived key) needs
    apart."""
    first: dict[str, Path] = {}
    for item in inputs:
        if item.name in first:
            raise Fatal(BAD_INPUT, f"{first[item.name]} and {item.path} are both {item.name!r}, which {why} "
                                   "needs apart: give the folder that holds them both")
        first[item.name] = item.path


def derived_key(key: str, name: str) -> str:
    """The Idempotency-Key of one of several inputs: ``<key>:<name>``, the name percent-encoded where it
    is not visible ASCII, or ``<key>:sha256:<32 hex>`` of the name when that would pass 255 characters."""
    derived = f"{key}:{quote(name, safe='/')}"
    if len(derived) <= KEY_MAX:
        return derived
    return f"{key}:sha256:{hashlib.sha256(name.encode()).hexdigest()[:32]}"
