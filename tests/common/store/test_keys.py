"""One module names every Redis key: no other source file spells an ``ocrq:`` key or a kombu key."""

from __future__ import annotations

import re
from pathlib import Path

from ocrq.store import keys

ROOT = Path(__file__).resolve().parents[3]
KEYS_MODULE = ROOT / "common" / "store" / "keys.py"
# a string literal that starts a key of ours, or names one of kombu's
SPELLED = re.compile(r"""["'](ocrq:[a-z]|unacked)""")


def sources() -> list[Path]:
    return [p for folder in ("common", "api", "worker") for p in (ROOT / folder).rglob("*.py")]


def test_no_module_but_the_key_map_spells_a_key():
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sources() if path != KEYS_MODULE
                 for n, line in enumerate(path.read_text().splitlines(), 1) if SPELLED.search(line)]
    assert offenders == []


def test_every_key_the_module_makes_is_in_the_table():
    table = " ".join(spec.name for spec in keys.KEYS)
    made = [keys.job_key("<id>"), keys.upload_key("<id>"), keys.pages_key("<id>"),
            keys.events_channel("<id>"), keys.batch_key("<id>"), keys.webhook_lock_key("<id>"),
            keys.webhook_last_try_key("<id>"),
            keys.reservation_key("<task id>"), keys.PENDING, keys.WEBHOOKS_DUE, keys.WORKERS,
            keys.RECONCILER_LOCK, keys.UNACKED, keys.UNACKED_INDEX, keys.flight_key("<owner>"),
            keys.held_key("<owner>"), keys.owner_waiting_key("<owner>"), keys.rate_key("<owner>", 1)[:-1]
            + "<minute>", keys.SHARE_OWNERS, keys.WAITING, keys.WORKER_PROCESSES]
    assert [key for key in made if key not in table] == []
    assert keys.idempotency_key("x").startswith("ocrq:idem:")
    assert all(spec.type and spec.ttl and spec.owner and spec.holds for spec in keys.KEYS)


def test_job_scripts_get_their_keys_in_the_preludes_order():
    assert keys.job_keys("j") == ["ocrq:job:j", "ocrq:upload:j", "ocrq:events:j", keys.PENDING,
                                  "ocrq:pages:j", keys.WEBHOOKS_DUE]
