"""The URL guard and safe fetcher the research agent uses on customer-supplied URLs.

Customer URLs are untrusted input: without a guard they reach the machine's own
services and the cloud metadata endpoint (SSRF). ``check_url`` accepts only
http(s) URLs without credentials whose host resolves exclusively to public
addresses; ``safe_fetch`` then connects to the very IP it validated (so a second,
different DNS answer cannot rebind the request to an internal address) while
sending the original Host header and TLS SNI, re-checks every redirect hop, and
bounds the response size and the total time: one deadline covers connect, TLS,
headers and body of every hop (``deadline.py``), so trickled headers cannot hold a
provisioning slot. DNS resolution is bounded by the system resolver's own timeouts.
"""

from __future__ import annotations

import codecs
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from agents.guards.deadline import deadline_transport

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_USER_AGENT = "agent-platform-research/0.1 (+https://github.com/; provisioning demo builder)"
_METADATA_IPS = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "169.254.169.254.nip.io",
    }
)
_BLOCKED_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain", ".home.arpa", ".intranet", ".corp", ".lan")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_CANONICAL_OCTET = re.compile(r"0|[1-9][0-9]{0,2}")


class FetchError(Exception):
    """A page could not be fetched safely; the research agent falls back to manual input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeURLError(FetchError):
    """The URL (or a redirect hop) points somewhere the platform must not reach."""


class ResponseTooLargeError(FetchError):
    pass


class FetchTimeoutError(FetchError):
    pass


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class URLPolicy:
    """Limits of the safe fetcher. ``allow_hosts`` exempts exact hosts from the address
    checks (tests reach a local fixture server); metadata addresses stay refused."""

    allow_hosts: frozenset[str] = frozenset()
    allowed_ports: frozenset[int] | None = frozenset({80, 443, 8080, 8443})
    max_redirects: int = 5
    max_bytes: int = 2 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0
    max_url_length: int = 2048
    allowed_content_types: frozenset[str] | None = frozenset(
        {"text/html", "application/xhtml+xml", "text/plain", "application/json", "text/xml", "application/xml"}
    )
    user_agent: str = DEFAULT_USER_AGENT
    resolver: Resolver = field(default=_system_resolver, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow_hosts", frozenset(h.lower().strip("[]") for h in self.allow_hosts))


DEFAULT_URL_POLICY = URLPolicy()


@dataclass(frozen=True)
class ValidatedURL:
    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA) host, IPv6 without brackets
    port: int
    target: str  # path + query sent on the wire
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def pinned_url(self) -> str:
        """The URL with the host replaced by the validated IP (what we actually connect to)."""
        ip = self.addresses[0]
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{self.scheme}://{host}:{self.port}{self.target}"


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status_code: int
    content_type: str
    content: bytes
    encoding: str
    redirects: tuple[str, ...]
    elapsed_ms: int

    @property
    def text(self) -> str:
        return self.content.decode(_text_encoding(self.encoding), errors="replace")


def address_refusal(addr: IPAddress) -> str | None:
    """Why an address must not be reached, or None when it is a public unicast address."""
    if addr in _METADATA_IPS:
        return f"cloud metadata address {addr}"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return f"IPv4-mapped IPv6 address {addr}"
        if addr.sixtofour is not None or addr.teredo is not None:
            return f"IPv6 transition address (6to4/Teredo) {addr}"
        if any(addr in net for net in _NAT64):
            return f"NAT64 address {addr}"
        if addr in _IPV4_COMPATIBLE and not (addr.is_unspecified or addr.is_loopback):
            return f"IPv4-compatible IPv6 address {addr}"
    if addr.is_unspecified:
        return f"unspecified address {addr}"
    if addr.is_loopback:
        return f"loopback address {addr}"
    if addr.is_link_local:
        return f"link-local address {addr}"
    if addr.is_multicast:
        return f"multicast address {addr}"
    if isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT:
        return f"carrier-grade NAT address {addr}"
    if isinstance(addr, ipaddress.IPv6Address) and addr in _UNIQUE_LOCAL:
        return f"unique-local address {addr}"
    if addr.is_private:
        return f"private address {addr}"
    if addr.is_reserved:
        return f"reserved address {addr}"
    if isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local:
        return f"site-local address {addr}"
    if not addr.is_global:
        return f"non-public address {addr}"
    return None


def _normalize_host(raw: str) -> str:
    host = raw.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    host = host.rstrip(".")
    if "%" in host:
        raise UnsafeURLError("percent-encoded or zone-scoped host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise UnsafeURLError(f"invalid international host name: {error}") from error
    labels = host.split(".")
    if all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        canonical = len(labels) == 4 and all(
            _CANONICAL_OCTET.fullmatch(label) and int(label) <= 255 for label in labels
        )
        if not canonical:
            raise UnsafeURLError(f"non-canonical numeric host {host!r} (decimal/octal/hex IPv4 tricks are refused)")
    if not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", host):
        raise UnsafeURLError(f"invalid host name {host!r}")
    return host


def check_url(url: str, policy: URLPolicy = DEFAULT_URL_POLICY) -> ValidatedURL:
    """Validate ``url`` and resolve its host; ``UnsafeURLError`` says why it is refused."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURLError("empty URL")
    if len(url) > policy.max_url_length:
        raise UnsafeURLError(f"URL is too long ({len(url)} > {policy.max_url_length})")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url) or "\\" in url:
        raise UnsafeURLError("URL contains whitespace, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError(f"scheme {scheme or '(none)'!r} is not allowed; only http and https")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeURLError("credentials in the URL are not allowed")
    if not parts.hostname:
        raise UnsafeURLError("URL has no host")
    host = _normalize_host(parts.hostname)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeURLError(f"invalid port: {error}") from error
    # A second parser must agree on the host, or the check and the request could differ.
    try:
        httpx_host = httpx.URL(url).host.lower().rstrip(".")
    except (httpx.InvalidURL, ValueError) as error:
        raise UnsafeURLError(f"invalid URL: {error}") from error
    if httpx_host != host:
        raise UnsafeURLError(f"ambiguous host ({httpx_host!r} vs {host!r})")

    allowed_host = host in policy.allow_hosts
    if not allowed_host:
        if host in _METADATA_HOSTS or host.startswith("metadata.") or host == "localhost":
            raise UnsafeURLError(f"host {host!r} is a metadata or local name")
        if host.endswith(_BLOCKED_SUFFIXES) or "." not in host and ":" not in host:
            raise UnsafeURLError(f"host {host!r} is an internal name")

    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            resolved = policy.resolver(host, port)
        except (OSError, UnicodeError) as error:
            raise UnsafeURLError(f"cannot resolve host {host!r}: {error}") from error
        addresses = tuple(ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved)
        if not addresses:
            raise UnsafeURLError(f"host {host!r} has no address")

    for addr in addresses:
        if addr in _METADATA_IPS:
            raise UnsafeURLError(f"host {host!r} is refused: cloud metadata address {addr}")
        if not allowed_host:
            # Every answer must be public: an attacker controls which one a client would pick.
            reason = address_refusal(addr)
            if reason:
                raise UnsafeURLError(f"host {host!r} is refused: {reason}")
    if not allowed_host and policy.allowed_ports is not None and port not in policy.allowed_ports:
        raise UnsafeURLError(f"port {port} is not allowed")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ValidatedURL(url=url, scheme=scheme, host=host, port=port, target=target, addresses=addresses)


def _text_encoding(declared: str | None) -> str:
    """The declared charset when Python knows it as a text encoding, else utf-8: a page may
    declare anything (``x-unknown``, ``base64``), and the text is decoded with replacement."""
    if not declared:
        return "utf-8"
    try:
        info = codecs.lookup(declared)
    except LookupError:
        return "utf-8"
    return info.name if getattr(info, "_is_text_encoding", True) else "utf-8"


def _content_type(headers: httpx.Headers) -> tuple[str, str]:
    raw = headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    match = re.search(r"charset=([\w.-]+)", raw, re.IGNORECASE)
    return media, _text_encoding(match.group(1) if match else None)


def _deadline_error(url: str, policy: URLPolicy) -> FetchTimeoutError:
    return FetchTimeoutError(f"fetching {url} took longer than {policy.total_timeout}s (total deadline)")


def safe_fetch(
    url: str, policy: URLPolicy = DEFAULT_URL_POLICY, *, raise_for_status: bool = True
) -> FetchResult:
    """GET ``url`` within the policy; raises ``UnsafeURLError``, ``ResponseTooLargeError``,
    ``FetchTimeoutError`` or ``FetchError``."""
    started = time.monotonic()
    deadline = started + policy.total_timeout
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout, pool=policy.connect_timeout)
    redirects: list[str] = []
    current = url
    # trust_env=False: a proxy from the environment would bypass the IP pinning.
    transport = deadline_transport(deadline)
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout, transport=transport) as client:
        while True:
            if time.monotonic() > deadline:
                raise _deadline_error(url, policy)
            target = check_url(current, policy)
            headers = {"Host": target.host_header, "User-Agent": policy.user_agent, "Accept": "text/html,*/*;q=0.5"}
            extensions: dict[str, object] = {}
            if target.scheme == "https":
                # Certificate verification and SNI use the name, not the pinned IP.
                extensions["sni_hostname"] = target.host
            try:
                with client.stream("GET", target.pinned_url(), headers=headers, extensions=extensions) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        if len(redirects) >= policy.max_redirects:
                            raise UnsafeURLError(f"too many redirects (more than {policy.max_redirects})")
                        current = urljoin(current, response.headers["location"])
                        redirects.append(current)
                        log.debug("redirect %d to %s", len(redirects), current)
                        continue
                    return _read_body(url, current, response, policy, deadline, started, redirects, raise_for_status)
            except httpx.TimeoutException as error:
                if time.monotonic() >= deadline:
                    raise _deadline_error(url, policy) from error
                raise FetchTimeoutError(f"timed out fetching {current}: {type(error).__name__}") from error
            except httpx.HTTPError as error:
                raise FetchError(f"cannot fetch {current}: {type(error).__name__}: {error}") from error


def _read_body(
    url: str,
    current: str,
    response: httpx.Response,
    policy: URLPolicy,
    deadline: float,
    started: float,
    redirects: list[str],
    raise_for_status: bool,
) -> FetchResult:
    if raise_for_status and response.status_code >= 400:
        raise FetchError(f"HTTP {response.status_code} from {current}")
    media, encoding = _content_type(response.headers)
    if policy.allowed_content_types is not None and media and media not in policy.allowed_content_types:
        raise FetchError(f"content type {media!r} is not allowed")
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise ResponseTooLargeError(f"response declares {declared} bytes (limit {policy.max_bytes})")
    body = bytearray()
    # Decoded bytes are counted, so a compressed bomb is stopped too.
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > policy.max_bytes:
            raise ResponseTooLargeError(f"response exceeds {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _deadline_error(url, policy)
    return FetchResult(
        url=url,
        final_url=current,
        status_code=response.status_code,
        content_type=media,
        content=bytes(body),
        encoding=encoding,
        redirects=tuple(redirects),
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )
