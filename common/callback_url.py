"""Where a webhook may go, and the one HTTP request that takes it there (common/webhooks.py signs it).

A ``callback_url`` comes from a client, but the request leaves from inside the deployment, next to Redis
and whatever else shares its network: a server-side request forgery (SSRF) waiting to happen. So:

- only ``http`` and ``https``, with a host, without ``user:password@`` or a fragment;
- the host is resolved and every address it has is checked: anything but a public unicast address
  (loopback, private, link-local such as 169.254.169.254, shared, multicast, reserved) is refused unless
  OCRQ_WEBHOOK_ALLOWED_HOSTS lists the host by name or the address (an IP or a CIDR network);
- a non-empty OCRQ_WEBHOOK_ALLOWED_HOSTS allows only what it lists, public hosts included;
- checked when the job is submitted (400 ``invalid_option``) and again before every delivery attempt,
  whose connection goes to the address just checked: no second DNS lookup that a rebinding name could
  answer differently. Redirects are not followed (a 3xx is an answer, not a new destination).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_SECONDS = 2.0  # how long a DNS lookup may take (at submission it holds an API request thread)
# Addresses that carry an IPv4 address (judged as that address): NAT64's well-known prefix (RFC 6052,
# the last 32 bits) and 6to4 (RFC 3056, bits 16-48). NAT64's local-use prefix (RFC 8215) may embed the
# IPv4 address at any of several offsets, so it is refused whole, as is the deprecated site-local range
# (both count as global to Python's ipaddress).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NOT_PUBLIC = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10"))


class CallbackRefused(ValueError):
    """The URL may not be called: not http(s), malformed, or a host the policy does not allow."""


class Unresolvable(CallbackRefused):
    """The host has no address now: refused at submission, but at delivery a failed attempt (DNS may be
    down for a moment), retried like a receiver that does not answer."""


@dataclass(frozen=True)
class Target:
    """A parsed callback URL: where to connect, and what to say in the request line and ``Host``."""

    url: str
    scheme: str
    host: str  # lower case, IPv6 without brackets, no trailing dot
    port: int
    netloc: str  # the Host header, as the client wrote it
    path: str  # path and query

    @classmethod
    def parse(cls, url: str) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise CallbackRefused(f"not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise CallbackRefused("only http and https URLs are called")
        if not parts.hostname:
            raise CallbackRefused("the URL has no host")
        if not parts.hostname.isascii():
            raise CallbackRefused("write an internationalised host name in its ASCII (xn--) form")
        if parts.username is not None or parts.password is not None:
            raise CallbackRefused("no user:password in the URL; verify the signature instead")
        if parts.fragment or "#" in url:
            raise CallbackRefused("no #fragment in the URL")
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise CallbackRefused("no spaces or control characters in the URL")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(url=url, scheme=parts.scheme, host=parts.hostname.rstrip("."),
                   port=port or (443 if parts.scheme == "https" else 80), netloc=parts.netloc, path=path)


def is_public(address: IPAddress) -> bool:
    """A global unicast address. An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is
    judged as the IPv4 address it leads to."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in NOT_PUBLIC):
            return False
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        elif address.sixtofour is not None:
            address = address.sixtofour
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class HostPolicy:
    """OCRQ_WEBHOOK_ALLOWED_HOSTS: names (``hooks.example.com``), subdomain wildcards
    (``*.example.com``), addresses and networks (``127.0.0.1``, ``10.0.0.0/8``). Empty: any host whose
    addresses are all public."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> HostPolicy:
        names, suffixes, networks = set(), [], []
        for entry in (e.strip().lower().rstrip(".") for e in spec.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if entry.startswith("*."):
                    suffixes.append(entry[1:])
                else:
                    names.add(entry)
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    @property
    def listing(self) -> bool:
        """Whether an allow-list is set (then only what it lists is allowed)."""
        return bool(self.names or self.suffixes or self.networks)

    def names_host(self, host: str) -> bool:
        return host in self.names or any(host.endswith(suffix) for suffix in self.suffixes)

    def check(self, host: str, addresses: list[IPAddress]) -> None:
        """Raise CallbackRefused unless the host may be called at every one of ``addresses``."""
        if self.names_host(host):
            return  # listed by name: the operator vouches for it, private addresses included
        for address in addresses:
            if any(address in network for network in self.networks):
                continue
            if self.listing:
                raise CallbackRefused(f"the host {host} is not in OCRQ_WEBHOOK_ALLOWED_HOSTS")
            if not is_public(address):
                raise CallbackRefused(f"the host {host} has the address {address}, which is not public "
                                      "(loopback, private, link-local, ...); list it in "
                                      "OCRQ_WEBHOOK_ALLOWED_HOSTS to allow it")


def resolve(target: Target) -> list[IPAddress]:
    """The host's addresses (the host itself if it is an address)."""
    try:
        return [ipaddress.ip_address(target.host)]
    except ValueError:
        pass
    lookup = _resolver().submit(socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=RESOLVE_SECONDS)
    except FutureTimeout:  # the lookup goes on in its thread (getaddrinfo cannot be interrupted)
        raise Unresolvable(f"the host {target.host} did not resolve within {RESOLVE_SECONDS:g} s") from None
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"the host {target.host} does not resolve ({exc})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # no IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"the host {target.host} has no address")
    return addresses


_resolver_lock = threading.Lock()
_resolvers: dict[int, ThreadPoolExecutor] = {}


def _resolver() -> ThreadPoolExecutor:
    """This process's DNS threads (per process id: a forked worker does not inherit its parent's threads).
    A few: a resolver that hangs ties up one thread per lookup until the system's own DNS timeout."""
    with _resolver_lock:
        pid = os.getpid()
        if pid not in _resolvers:
            _resolvers[pid] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ocrq-resolve")
        return _resolvers[pid]


def allowed(url: str, policy: HostPolicy) -> tuple[Target, IPAddress]:
    """The URL's target and the checked address to connect to; CallbackRefused if it may not be called."""
    target = Target.parse(url)
    if policy.listing and not policy.names_host(target.host) and not policy.networks:
        raise CallbackRefused(f"the host {target.host} is not in OCRQ_WEBHOOK_ALLOWED_HOSTS")
    addresses = resolve(target)
    policy.check(target.host, addresses)
    return target, addresses[0]


class AttemptTimedOut(urllib3.exceptions.TimeoutError):
    """The receiver did not answer (status line and headers) within the attempt's timeout."""


class _Deadline:
    """Shuts down the attempt's sockets when its time is up. A socket timeout bounds each read, not the
    sum: a receiver sending a byte a second would otherwise hold the worker process indefinitely."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake whatever is blocked on ``sock`` (the plain socket's shutdown: an SSLSocket's would drop its
    TLS state under the reading thread)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def post(target: Target, address: IPAddress, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``target`` at ``address`` (TLS still checks the certificate against the host's
    name); the answer's status, within ``timeout`` seconds in all (connection, TLS, request, status line
    and headers; the answer's body is not read). Raises urllib3's errors (connection refused, TLS...),
    AttemptTimedOut when the time is up."""
    options: dict = {}
    if target.scheme == "https":
        options = {"server_hostname": target.host, "assert_hostname": target.host,
                   "cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
        pool_class: type[urllib3.HTTPConnectionPool] = urllib3.HTTPSConnectionPool
    else:
        pool_class = urllib3.HTTPConnectionPool
    deadline = _Deadline(timeout)

    class Watched(pool_class.ConnectionCls):  # type: ignore[name-defined]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    pool = pool_class(str(address), target.port, maxsize=1, retries=False,
                      timeout=urllib3.Timeout(connect=timeout, read=timeout), **options)
    pool.ConnectionCls = Watched
    started = time.monotonic()
    deadline.timer.start()
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={"Host": target.netloc, **headers},
                                redirect=False, retries=False, preload_content=False)
        response.close()  # the status is what counts: the body is not read (it could trickle, too)
        return response.status
    except Exception as exc:
        if deadline.expired:
            raise AttemptTimedOut(f"no answer within {timeout:g} s "
                                  f"({time.monotonic() - started:.1f} s)") from exc
        raise
    finally:
        deadline.timer.cancel()
        pool.close()
