"""A page of the caller's records (jobs or batches), newest first, from their owner's index
(ocrq/store/listing.py), with the URL of the next page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, jsonify, request, url_for

from ocrq.api import context
from ocrq.schemas import ListQuery
from ocrq.schemas import Response as Response_
from ocrq.store.listing import OwnerIndex, Position

T = TypeVar("T")


def listing(kind: str, index: OwnerIndex, query: ListQuery,
            load: Callable[[Sequence[str]], Sequence[T | None]], keep: Callable[[T], bool],
            shape: Callable[[T], dict[str, Any]], model: type[Response_]) -> Response:
    """The answer of ``GET /v1/<kind>``: the records ``keep`` accepts, shaped by ``shape``, in ``model``
    (``JobList``, ``BatchList``); ``next`` repeats the query with the cursor after the last one."""
    before = ListQuery.epoch_ms(query.created_before)
    page = index.page(context.owner(), query.limit, load, keep,
                      after=Position.parse(query.cursor) if query.cursor else None,
                      newest=None if before is None else before - 0.001,  # "before" leaves it out
                      oldest=ListQuery.epoch_ms(query.created_after))
    link = None
    if page.next is not None:
        arguments = {name: value for name, value in request.args.items() if name != "cursor"}
        arguments["cursor"] = page.next.cursor()
        link = url_for(str(request.endpoint), **arguments)  # type: ignore[arg-type]
    return jsonify(model.model_validate({kind: [shape(item) for item in page.items], "next": link}).dump())
