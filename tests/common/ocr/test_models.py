import shutil

import pytest

from ocrq.config import Settings
from ocrq.errors import ModelError
from ocrq.ocr import OcrEngine
from ocrq.ocr import models as model_packs
from ocrq.ocr.models import load_pack, read_charset, sha256_of
from tests.support.render import render_png


@pytest.mark.parametrize("name", ["ppocrv6", "ppocrv5"])
def test_shipped_packs_match_their_manifest(name):
    pack = load_pack(name)
    for role, entry in model_packs.MANIFEST[name]["files"].items():
        assert sha256_of(getattr(pack, role)) == entry["sha256"]


def test_a_file_that_does_not_match_is_refused_with_advice(monkeypatch):
    manifest = {**model_packs.MANIFEST}
    pack = {**manifest["ppocrv5"], "files": {**manifest["ppocrv5"]["files"]}}
    pack["files"]["det"] = {**pack["files"]["det"], "sha256": "0" * 64}
    manifest["ppocrv5"] = pack
    monkeypatch.setattr(model_packs, "MANIFEST", manifest)
    with pytest.raises(ModelError, match="force-reinstall"):
        load_pack("ppocrv5")


def test_unknown_pack_is_refused():
    with pytest.raises(ModelError, match="unknown model pack"):
        load_pack("ppocrv99")


def test_model_dir_loads_the_users_own_files(tmp_path):
    shipped = load_pack("ppocrv5")
    shutil.copy(shipped.det, tmp_path / "det.onnx")
    shutil.copy(shipped.rec, tmp_path / "rec.onnx")
    shutil.copy(shipped.keys, tmp_path / "keys.txt")
    pack = load_pack("ppocrv5", model_dir=tmp_path)
    assert pack.name == f"custom:{tmp_path.name}" and pack.cls is None
    engine = OcrEngine(pack, threads=1)
    result = engine.run(render_png(["自己的模型 own model"], size=32))
    assert "".join(result.text.split()) == "自己的模型ownmodel"


def test_model_dir_without_rec_is_refused(tmp_path):
    (tmp_path / "det.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="rec.onnx"):
        load_pack("ppocrv6", model_dir=tmp_path)


def test_charset_from_metadata_and_from_file(tmp_path):
    assert read_charset(None, {"character": "a\nb\n \n"}) == ["a", "b", " "]
    keys = tmp_path / "keys.txt"
    keys.write_text("x\ny\n", encoding="utf-8")
    assert read_charset(keys, {}) == ["x", "y"]
    with pytest.raises(ModelError):
        read_charset(None, {})


def test_memory_arena_setting_reaches_every_session(engine):
    lean = OcrEngine.from_settings(Settings(ort_threads=1, ort_memory_arena=False, use_orientation=True))
    sessions = [m.session for m in lean.models()]
    assert len(sessions) == 3
    assert all(not s.get_session_options().enable_cpu_mem_arena for s in sessions)
    assert all(m.session.get_session_options().enable_cpu_mem_arena for m in engine.models())
    page = render_png(["内存 Memory 42"], size=32)
    assert [line.text for line in lean.run(page, enhance="off").lines] == ["内存 Memory 42"]
