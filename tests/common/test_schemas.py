"""The contract's models against what the code produces: a field added to the job record or to the engine's
result must be declared in common/schemas.py too, or it would never reach a client (nor the spec)."""

from __future__ import annotations

import dataclasses

import pytest

from ocrq.errors import InvalidOption
from ocrq.ocr.result import OcrBlock, OcrLine, OcrWord
from ocrq.ocr.result import OcrResult as EngineResult
from ocrq.schemas import Block, JobDocument, JobOptions, JobQuery, Line, OcrResult, PageResult, Word
from ocrq.store.jobs import Job


def test_every_field_of_a_job_record_is_in_the_job_document():
    job = Job(job_id="4d3c2b1a-0000-4000-8000-000000000000", status="queued",
              created_at="2026-01-01T00:00:00Z",
              document={"format": "PDF", "pages": 2}, pages_done=1)
    assert set(job.public()) <= set(JobDocument.model_fields), "declare the new field in common/schemas.py"


def test_every_field_of_the_engine_result_is_in_the_result_schema():
    engine_fields = {f.name for f in dataclasses.fields(EngineResult)} | {"text"}  # text: a property
    assert engine_fields == set(OcrResult.model_fields), "declare the new field in common/schemas.py"
    assert {f.name for f in dataclasses.fields(OcrLine)} == set(Line.model_fields)
    assert {f.name for f in dataclasses.fields(OcrWord)} == set(Word.model_fields)
    assert {f.name for f in dataclasses.fields(OcrBlock)} == set(Block.model_fields)
    # a document's page carries the same reading of its image as a single image's result
    assert {"text", "lines", "blocks", "angle", "width", "height"} <= set(PageResult.model_fields)


def test_characters_are_in_a_result_only_when_asked_for():
    box = [[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]]
    word = OcrWord("ab", 0.9, box)
    plain = EngineResult(10, 5, [OcrLine("ab", 0.9, box, [word])], "auto",
                         blocks=[OcrBlock(box, [0])]).to_dict()
    asked = EngineResult(10, 5, [OcrLine("ab", 0.9, box, [word], [OcrWord("a", 0.9, box)])], "auto",
                         blocks=[OcrBlock(box, [0])]).to_dict()
    assert "chars" not in plain["lines"][0] and plain["lines"][0]["words"][0]["text"] == "ab"
    assert asked["lines"][0]["chars"][0]["text"] == "a"
    assert "chars" not in OcrResult.model_validate(plain).dump()["lines"][0]
    assert OcrResult.model_validate(asked).dump()["lines"][0]["chars"][0]["box"] == box


def test_a_job_document_keeps_its_declared_fields_only():
    stored = {
        "job_id": "4d3c2b1a-0000-4000-8000-000000000000", "status": "succeeded",
        "created_at": "2026-01-01T00:00:00.000Z", "started_at": "2026-01-01T00:00:01.000Z",
        "finished_at": "2026-01-01T00:00:02.000Z", "attempts": 1,
        "options": {"enhance": "auto", "fault": "x"},
        "error": None, "links": {"self": "/v1/jobs/4d3c2b1a-0000-4000-8000-000000000000"},
        "result": {"width": 10, "height": 5, "text": "a", "enhance": "auto", "timings_ms": {"total": 1.5},
                   "model": {"name": "ppocrv6"}, "internal": "not for clients",
                   "lines": [{"text": "a", "confidence": 0.9, "box": [[0, 0], [1, 0], [1, 1], [0, 1]]}]},
    }
    body = JobDocument.model_validate(stored).dump()
    assert body["options"] == {"enhance": "auto"}  # the test-only fault option is not part of the contract
    assert "internal" not in body["result"] and "progress" not in body
    assert body["result"]["lines"][0]["box"] == [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    assert body["job_id"] == stored["job_id"] and body["created_at"] == stored["created_at"]


@pytest.mark.parametrize(("model", "values", "named"), [
    (JobOptions, {"enhance": "sharpen"}, "enhance"),
    (JobOptions, {"enhance": ""}, "enhance"),
    (JobOptions, {"priority": "urgent"}, "priority"),
    (JobOptions, {"tag": "two\nlines"}, "tag"),
    (JobOptions, {"tag": "x" * 129}, "tag"),
    (JobOptions, {"callback_url": "h" * 2049}, "callback_url"),
    (JobQuery, {"wait": "abc"}, "wait"),
    (JobQuery, {"wait": "-1"}, "wait"),
    (JobQuery, {"wait": "inf"}, "wait"),
    (JobQuery, {"wait": "nan"}, "wait"),
    (JobQuery, {"wait": ""}, "wait"),
])
def test_bad_options_are_400_invalid_option_naming_the_field(model, values, named):
    with pytest.raises(InvalidOption) as caught:
        model.parse(values)
    assert caught.value.message.startswith(named + ":") and caught.value.http_status == 400


def test_options_default_and_ignore_what_they_do_not_know():
    assert JobOptions.parse({"other": "x"}).enhance is None
    assert JobOptions.parse({}).chars is None and JobOptions.parse({"chars": "true"}).chars is True
    with pytest.raises(InvalidOption):
        JobOptions.parse({"chars": "maybe"})
    assert JobOptions.parse({"enhance": "seed"}).enhance == "seed"
    assert JobQuery.parse({}).wait == 0 and JobQuery.parse({"wait": "2.5"}).wait == 2.5
