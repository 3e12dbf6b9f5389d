"""What ``ocrq submit`` sends from its arguments (ocrq/cli/inputs.py), and the one line a refused setting
becomes (ocrq/config.py): pure functions, on files in a temporary folder."""

from __future__ import annotations

import pytest
from PIL import Image
from pydantic import ValidationError

from ocrq.cli.failures import Fatal
from ocrq.cli.inputs import EXTENSIONS, KEY_MAX, collect, derived_key, refuse_same_names
from ocrq.config import Settings, settings_error_line
from ocrq.images import SUPPORTED_FORMATS


def test_the_extensions_walked_are_those_of_the_formats_the_server_reads():
    by_format: dict[str, set[str]] = {}
    for extension, name in Image.registered_extensions().items():
        by_format.setdefault(name, set()).add(extension)
    readable = set().union(*(by_format.get(name, set()) for name in SUPPORTED_FORMATS)) | {".pdf"}
    assert EXTENSIONS <= readable
    assert all(by_format[name] & EXTENSIONS for name in SUPPORTED_FORMATS if name in by_format)


def test_folders_are_walked_sorted_hidden_and_other_files_left_out_and_a_file_sent_once(tmp_path):
    for name in ("b/2.PNG", "b/1.pdf", "a/z/3.tif", "a/notes.txt", ".cache/4.png", "a/.5.png", "0.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    inputs, any_folder = collect([tmp_path / "b" / "2.PNG", tmp_path])
    assert any_folder
    assert [(item.path.relative_to(tmp_path).as_posix(), item.name) for item in inputs] == [
        ("b/2.PNG", "2.PNG"), ("0.jpg", "0.jpg"), ("a/z/3.tif", "a/z/3.tif"), ("b/1.pdf", "b/1.pdf")]


def test_two_folders_holding_the_same_name_are_refused_where_names_must_differ(tmp_path):
    for name in ("c/x.png", "d/x.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    refuse_same_names(collect([tmp_path])[0], "--out")  # c/x.png and d/x.png: apart
    with pytest.raises(Fatal) as same:
        refuse_same_names(collect([tmp_path / "c", tmp_path / "d"])[0], "--out")
    assert same.value.code == 2 and "'x.png'" in same.value.message and "--out" in same.value.message


def test_derived_keys_are_visible_ascii_within_the_servers_limit():
    assert derived_key("run-1", "a/b.png") == "run-1:a/b.png"
    assert derived_key("run-1", "发票 1.png") == "run-1:%E5%8F%91%E7%A5%A8%201.png"
    long = derived_key("run-1", "长" * 200)
    assert long.startswith("run-1:sha256:") and len(long) <= KEY_MAX
    assert long != derived_key("run-1", "长" * 201)


def test_a_refused_setting_is_one_line_naming_each_variable(monkeypatch):
    monkeypatch.setenv("OCRQ_LOG_FORMAT", "yaml")
    monkeypatch.setenv("OCRQ_PORT", "0")
    monkeypatch.setenv("REDIS_URL", "")
    with pytest.raises(ValidationError) as refused:
        Settings()
    line = settings_error_line(refused.value)
    assert line == ("OCRQ_PORT='0': input should be greater than or equal to 1; "
                    "OCRQ_LOG_FORMAT='yaml': expected one of json, text")
    monkeypatch.delenv("OCRQ_LOG_FORMAT")
    monkeypatch.delenv("OCRQ_PORT")
    monkeypatch.setenv("OCRQ_MODEL_DIR", "/no/such/folder")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert settings_error_line(refused.value) == "OCRQ_MODEL_DIR='/no/such/folder': not a directory"
