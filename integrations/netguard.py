"""Outbound HTTP for webhooks, safe against SSRF.

The host is resolved once, every address is checked (no loopback, private, link-local, cloud
metadata, multicast or reserved address unless KB_WEBHOOK_ALLOW_PRIVATE), and the connection
goes to the checked address, so a DNS answer cannot change between the check and the request.
http.client never follows redirects; the response body is read only up to a small limit.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class RefusedURL(ValueError):
    """The URL may not receive webhooks (with the reason, for the owner)."""


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private or not address.is_global:
        return "a private or reserved address"
    if address.is_multicast:
        return "a multicast address"
    return None


def check_url(url: str) -> tuple[str, int, bool]:
    """(host, port, https) of an acceptable URL, or RefusedURL saying why not."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 (parses the netloc: a broken IPv6 literal raises here)
    except ValueError as error:
        raise RefusedURL(f"Not a usable URL ({error}).") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("Use an http:// or https:// URL.")
    if parts.username or parts.password:
        raise RefusedURL("Put no credentials in the URL; verify the signature instead.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedURL("The URL's port is not a number from 1 to 65535.") from None
    return parts.hostname, port, parts.scheme == "https"


def resolve(host: str, port: int) -> str:
    """An address of `host` to connect to, after checking all of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedURL(f"{host!r} does not resolve ({error}).") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not settings.KB_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if reason := _refusal(address):
                raise RefusedURL(f"{host!r} resolves to {address}, {reason}: webhooks are not sent there.")
    return str(addresses[0])


def validate_url(url: str) -> None:
    """Refuse a URL at registration (the worker checks again before every attempt)."""
    host, port, _ = check_url(url)
    resolve(host, port)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency_ms: int


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, max_body: int) -> Response:
    """POST once; raises RefusedURL or OSError (timeouts included) when no response came back."""
    host, port, https = check_url(url)
    address = resolve(host, port)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout)
    # Socket timeouts bound each step; this bounds the whole attempt, so a receiver that drips its
    # answer a byte at a time cannot hold the worker (or outlive its lease on the endpoint).
    cut = threading.Event()
    watchdog = threading.Timer(timeout, _cut, args=(connection, cut))
    watchdog.daemon = True
    started = time.monotonic()
    watchdog.start()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(max_body)
        if cut.is_set():  # the read ended because the watchdog closed the socket
            raise TimeoutError(f"no complete answer within {timeout:g}s")
        return Response(response.status, data, int((time.monotonic() - started) * 1000))
    except (http.client.HTTPException, OSError) as error:
        if cut.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g}s") from error
        if isinstance(error, http.client.HTTPException):
            raise OSError(f"bad HTTP response: {error!r}") from error
        raise
    finally:
        watchdog.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
