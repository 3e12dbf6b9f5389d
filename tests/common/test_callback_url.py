"""Where a webhook may go (common/callback_url.py) and how it is signed (common/webhooks.py): no network but
loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest

from ocrq import callback_url
from ocrq.api.uploads import check_callback
from ocrq.callback_url import (
    AttemptTimedOut,
    CallbackRefused,
    HostPolicy,
    Target,
    Unresolvable,
    allowed,
    post,
)
from ocrq.config import Settings
from ocrq.errors import InvalidOption
from ocrq.webhooks import retry_delay, sign, verify

ip = ipaddress.ip_address


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://example.com/hook", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
    ("http:///path-only", "no host"),
    ("https://user:pw@example.com/", "user:password"),
    ("https://example.com/#frag", "fragment"),
    ("https://example.com/a b", "control characters"),
    ("https://example.com/\r\nX-Injected: 1", "control characters"),
    ("https://exämple.com/", "ASCII"),
    ("http://example.com:99999/", "not a valid URL"),
])
def test_malformed_or_non_http_urls_are_refused(url, why):
    with pytest.raises(CallbackRefused, match=why):
        Target.parse(url)


def test_a_target_keeps_the_host_for_tls_and_the_path_for_the_request_line():
    target = Target.parse("https://Hooks.Example.com./ocr?token=1")
    assert (target.host, target.port, target.path, target.netloc) == (
        "hooks.example.com", 443, "/ocr?token=1", "Hooks.Example.com.")
    assert Target.parse("http://[::1]:8080").host == "::1" and Target.parse("http://[::1]:8080").path == "/"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
])
def test_without_an_allow_list_only_public_addresses_may_be_called(address):
    with pytest.raises(CallbackRefused, match="not public"):
        HostPolicy.parse("").check("internal", [ip(address)])


def test_without_an_allow_list_a_public_address_may_be_called():
    HostPolicy.parse("").check("example.com", [ip("93.184.215.14"), ip("2606:2800:21f:cb07::1")])
    with pytest.raises(CallbackRefused):  # every address counts: one private one is enough to refuse
        HostPolicy.parse("").check("split.example.com", [ip("93.184.215.14"), ip("10.0.0.5")])


def test_an_allow_list_allows_only_what_it_lists():
    policy = HostPolicy.parse(" 127.0.0.1, 10.0.0.0/8 ,hooks.internal, *.corp.example,")
    policy.check("127.0.0.1", [ip("127.0.0.1")])
    policy.check("anything", [ip("10.9.8.7")])
    policy.check("hooks.internal", [ip("192.168.0.9")])  # listed by name: the operator vouches for it
    policy.check("a.b.corp.example", [ip("172.16.0.1")])
    for host, address in [("127.0.0.2", "127.0.0.2"), ("example.com", "93.184.215.14"),
                          ("corp.example", "172.16.0.1"), ("evilcorp.example", "93.184.215.14")]:
        with pytest.raises(CallbackRefused, match="OCRQ_WEBHOOK_ALLOWED_HOSTS"):
            policy.check(host, [ip(address)])


def test_allowed_resolves_the_host_and_returns_the_checked_address():
    target, address = allowed("http://127.0.0.1:9/hook", HostPolicy.parse("127.0.0.1"))
    assert address == ip("127.0.0.1") and target.port == 9
    with pytest.raises(CallbackRefused, match="not public"):  # 2130706433 is 127.0.0.1 spelled as a number
        allowed("http://2130706433/", HostPolicy.parse(""))
    with pytest.raises(CallbackRefused, match="not in OCRQ_WEBHOOK_ALLOWED_HOSTS"):  # no DNS needed to say no
        allowed("https://elsewhere.example/", HostPolicy.parse("hooks.internal"))
    with pytest.raises(Unresolvable):
        allowed("https://no-such-host.invalid/", HostPolicy.parse(""))


def test_a_signature_verifies_only_for_its_body_secret_and_time():
    body, now = b'{"job_id":"x","status":"succeeded"}', 1_800_000_000
    signature = sign("s3cret", now, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret", str(now), body, signature, now=now + 10)
    assert not verify("s3cret", str(now), body + b" ", signature, now=now)
    assert not verify("other", str(now), body, signature, now=now)
    assert not verify("s3cret", str(now + 1), body, signature, now=now)  # the timestamp is signed too
    assert not verify("s3cret", str(now), body, signature, now=now + 301)  # too old: a replay
    assert not verify("s3cret", "soon", body, signature, now=now)


def test_retries_back_off_doubling_up_to_half_the_visibility_timeout():
    settings = Settings(webhook_backoff=2)
    assert [retry_delay(settings, n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert retry_delay(settings, 40) == retry_delay(settings, 10**6) == settings.visibility_timeout / 2


@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",  # NAT64 to 10.0.0.1, 169.254.169.254, loopback
    "64:ff9b:1::808:808",  # NAT64 local-use prefix: where it embeds the IPv4 address is the operator's choice
    "2002:a00:1::", "2002:a9fe:a9fe::1",  # 6to4 of 10.0.0.1, 169.254.169.254
    "fec0::1",  # site-local (deprecated, but routed by some networks)
])
def test_ipv6_addresses_that_lead_to_internal_ones_are_not_public(address):
    with pytest.raises(CallbackRefused, match="not public"):
        HostPolicy.parse("").check("internal", [ip(address)])


def test_nat64_and_6to4_of_a_public_ipv4_address_may_be_called():
    HostPolicy.parse("").check("example.com", [ip("64:ff9b::808:808"), ip("2002:808:808::1")])


def test_a_dns_lookup_that_hangs_is_refused_after_the_resolve_limit(monkeypatch):
    release = threading.Event()

    def hanging(*args, **kwargs):
        release.wait(10)
        raise socket.gaierror("released")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    monkeypatch.setattr(callback_url, "RESOLVE_SECONDS", 0.3)
    started = time.monotonic()
    try:
        with pytest.raises(Unresolvable, match="did not resolve within 0.3 s"):
            allowed("https://slow.example/", HostPolicy.parse(""))
        with pytest.raises(InvalidOption, match="callback_url: .*did not resolve"):  # 400 at submission
            check_callback("https://slow.example/", Settings(webhook_secret="s"))
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


class Trickler:
    """A loopback server that reads the request, then sends ``answer`` a byte at a time, one every
    ``every`` seconds (a receiver holding a webhook open)."""

    def __init__(self, answer: bytes, every: float = 0.1) -> None:
        self.answer, self.every = answer, every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            for byte in self.answer:
                if self.stop.wait(self.every):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def timed_post(server: Trickler, timeout: float) -> tuple[float, int | Exception]:
    target = Target.parse(f"http://127.0.0.1:{server.port}/hook")
    started = time.monotonic()
    try:
        answer: int | Exception = post(target, ip("127.0.0.1"), b"{}", {}, timeout)
    except Exception as exc:  # the test looks at which one
        answer = exc
    finally:
        server.close()
    return time.monotonic() - started, answer


def test_a_webhook_answer_whose_body_trickles_counts_by_its_status_at_once():
    headers = b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n"
    server = Trickler(headers + b"x" * 200, every=0.02)  # headers in ~1 s, then 4 s of body
    elapsed, answer = timed_post(server, timeout=2)
    assert answer == 200 and elapsed < 2.5


def test_a_webhook_answer_whose_status_line_trickles_times_out_at_the_attempt_timeout():
    server = Trickler(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", every=0.2)  # 8 s, 0.2 s a byte
    elapsed, answer = timed_post(server, timeout=1)
    assert isinstance(answer, AttemptTimedOut) and 0.9 < elapsed < 2, (elapsed, answer)
