"""Redis connections from settings, and URLs made safe to print."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis

from ocrq.config import Settings
from ocrq.errors import ConfigError

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url(settings: Settings) -> str:
    url = settings.redis_url or DEFAULT_URL
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must be redis://, rediss:// or unix://, not {redact(url)}")
    return url


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))


def connect(settings: Settings, **overrides) -> redis.Redis:
    """A client with short timeouts: a Redis outage should be answered with 503 quickly, not hang."""
    options = {
        "socket_timeout": 5.0,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 10,
        "retry_on_timeout": False,
    }
    options.update(overrides)
    return redis.Redis.from_url(redis_url(settings), **options)
