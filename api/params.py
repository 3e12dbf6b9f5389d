"""Query parameters and option names: what an endpoint does not know is refused by name (400
``invalid_option``), unless OCRQ_STRICT_OPTIONS is off, so a client learns its option was not used."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from flask import request
from pydantic import BaseModel

from ocrq.api import context
from ocrq.errors import InvalidOption
from ocrq.schemas import parse_values

Q = TypeVar("Q", bound=BaseModel)


def refuse_unknown(names: Iterable[str], known: Iterable[str], where: str) -> None:
    """400 ``invalid_option`` naming every name in ``names`` the endpoint does not take."""
    unknown = sorted(set(names) - set(known))
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise InvalidOption(f"unknown {where} {', '.join(repr(n[:40]) for n in unknown[:5])}; this endpoint "
                            f"takes: {listed}"[:300])


def read_query(model: type[Q]) -> Q:
    """The request's query string validated by ``model`` (common/schemas.py); unknown names refused."""
    values = request.args.to_dict()
    if context.settings().strict_options:
        refuse_unknown(values, model.model_fields, "query parameter")
    return parse_values(model, values)


def no_query() -> None:
    """Refuse any query parameter (an endpoint that takes none)."""
    read_query(_Nothing)


class _Nothing(BaseModel):
    pass
