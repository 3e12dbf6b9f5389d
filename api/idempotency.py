"""``Idempotency-Key`` on ``POST /v1/jobs`` and ``POST /v1/batches`` (common/idempotency.py keeps them).

    with idempotent("jobs", options, [("", data)]) as guard:
        if guard.replay is not None:
            return guard.replay           # the first answer again, with Idempotency-Replayed: true
        response = ...                    # store and enqueue as usual
        guard.complete(response)          # only a 202 is kept; an error frees the key for a retry
        return response
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Response, request

from ocrq.api import context
from ocrq.errors import InvalidOption
from ocrq.store.idempotency import Claim, IdempotencyStore, StoredResponse, fingerprint

HEADER = "Idempotency-Key"
REPLAYED = "Idempotency-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, as most APIs take them (UUIDs fit)
PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Makes a retry safe: the same key (for the same API key) within "
                   "`OCRQ_IDEMPOTENCY_TTL_SECONDS` answers the first `202` again (with "
                   "`Idempotency-Replayed: true`) instead of creating a second job; with different files "
                   "or options it answers `409 idempotency_conflict`. 1-255 visible ASCII characters.",
    "schema": {"type": "string", "pattern": KEY_PATTERN, "minLength": 1, "maxLength": 255},
}
REPLAYED_HEADER = {REPLAYED: "`true` when this is the stored answer to an earlier request with the same "
                            "`Idempotency-Key`"}
# What a 409 means on the endpoints that take the header (the spec's description of it).
CONFLICT = ("`idempotency_conflict`: this `Idempotency-Key` was used with different files or options, or "
            "its first request is still being processed (`idempotency_in_progress`; retry in a moment)")


@dataclass
class Guard:
    replay: Response | None = None
    claim: Claim | None = None

    def complete(self, response: Response) -> None:
        if self.claim is not None and response.status_code == 202:
            self.claim.complete(StoredResponse(response.status_code, response.get_data(as_text=True),
                                               response.headers.get("Location")))
            self.claim = None


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidOption(f"{HEADER}: 1 to 255 visible ASCII characters (no spaces)")
    return key


@contextmanager
def idempotent(kind: str, options: dict,
               files: list[tuple[str, bytes]] | Callable[[], list[tuple[str, bytes]]]) -> Iterator[Guard]:
    """A Guard whose ``replay`` is the stored answer, or that claims the key for this request (nothing
    to do without the header). A request that fails, or answers anything but 202, frees the key.
    ``files`` (name, content or digest) may be a function, called only when there is a key to check."""
    key = _key()
    if key is None:
        yield Guard()
        return
    store = IdempotencyStore(context.store().redis, context.settings().idempotency_ttl_seconds)
    listed = files() if callable(files) else files
    outcome = store.begin(context.owner(), key, fingerprint(kind, options, listed))
    if isinstance(outcome, StoredResponse):
        replay = Response(outcome.body, status=outcome.status, mimetype="application/json")
        if outcome.location:
            replay.headers["Location"] = outcome.location
        replay.headers[REPLAYED] = "true"
        yield Guard(replay=replay)
        return
    guard = Guard(claim=outcome)
    try:
        yield guard
    finally:
        if guard.claim is not None:  # not completed: an error, or not a 202
            guard.claim.abandon()
