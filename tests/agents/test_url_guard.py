"""The URL guard keeps the research agent away from internal addresses and bounds what it downloads."""

from __future__ import annotations

import socket
import time

import pytest

from agents.guards.url import (
    DEFAULT_URL_POLICY,
    FetchError,
    FetchTimeoutError,
    ResponseTooLargeError,
    UnsafeURLError,
    URLPolicy,
    check_url,
    safe_fetch,
)
from agents.templates import detect_domain
from agents.testing.fixture_sites import SITES, FixtureSites
from agents.tools.page import extract_page

# A fake DNS: the tests never depend on the network, and can make a name resolve anywhere.
FAKE_DNS = {
    "example.com": ["93.184.216.34"],
    "www.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "intranet.example.com": ["10.1.2.3"],
    "rebind.example.com": ["93.184.216.34", "127.0.0.1"],
    "cgnat.example.com": ["100.64.3.4"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "meta.example.com": ["169.254.169.254"],
    "fixture.test": ["127.0.0.1"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    if host not in FAKE_DNS:
        raise socket.gaierror(f"unknown host {host}")
    return FAKE_DNS[host]


POLICY = URLPolicy(resolver=fake_resolver)

HOSTILE_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[2002:7f00:1::]/",
    "file:///etc/passwd",
    "ftp://example.com/",
    "gopher://127.0.0.1:70/_x",
    "javascript:alert(1)",
    "http://user:pass@example.com/",
    "http://example.com@127.0.0.1/",
    "http://example.com\\@127.0.0.1/",
    "http://ex%61mple.com/",
    "http://exa mple.com/",
    "http://printer.local/",
    "http://example.com:22/",
    "http://intranet.example.com/",
    "http://rebind.example.com/",
    "http://cgnat.example.com/",
    "http://mapped.example.com/",
    "http://meta.example.com/",
    "http://does-not-resolve.example.org/",
    "",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError) as error:
        check_url(url, POLICY)
    assert error.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2130706433/", "non-canonical numeric host"),
        ("http://0x7f.1/", "non-canonical numeric host"),
        ("http://169.254.169.254/", "cloud metadata"),
        ("http://metadata.google.internal/", "metadata"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://user:pass@example.com/", "credentials"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("http://rebind.example.com/", "loopback"),
        ("http://intranet.example.com/", "private"),
    ],
)
def test_refusal_reasons(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError) as error:
        check_url(url, POLICY)
    assert reason in error.value.reason


def test_public_url_is_pinned_to_the_validated_address() -> None:
    target = check_url("https://www.example.com/pricing?plan=pro#top", POLICY)
    assert target.host == "www.example.com"
    assert target.pinned_url() == "https://93.184.216.34:443/pricing?plan=pro"
    assert target.host_header == "www.example.com"


def test_default_policy_refuses_the_local_fixture_server(fixture_sites: FixtureSites) -> None:
    assert not DEFAULT_URL_POLICY.allow_hosts
    with pytest.raises(UnsafeURLError, match="loopback"):
        safe_fetch(fixture_sites.url_for("saas"))


@pytest.fixture(scope="module")
def local() -> URLPolicy:
    return URLPolicy(allow_hosts={"127.0.0.1"}, read_timeout=0.5, total_timeout=1.5, max_bytes=2 * 1024 * 1024)


def test_allow_hosts_policy_fetches_a_fixture_page(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    result = safe_fetch(fixture_sites.url_for("restaurant"), local)
    assert result.status_code == 200 and result.content_type == "text/html"
    assert "Trattoria Bellavista" in result.text


def test_redirect_to_metadata_is_refused_even_from_an_allowed_host(
    fixture_sites: FixtureSites, local: URLPolicy
) -> None:
    for path in ("redirect/metadata", "redirect/metadata-v6", "redirect/localhost", "redirect/scheme"):
        with pytest.raises(UnsafeURLError):
            safe_fetch(fixture_sites.url(path), local)


def test_redirects_are_followed_and_bounded(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    result = safe_fetch(fixture_sites.url("redirect/chain/3"), local)
    assert result.final_url.endswith("/site/ecommerce/") and len(result.redirects) == 3
    with pytest.raises(UnsafeURLError, match="too many redirects"):
        safe_fetch(fixture_sites.url("redirect/chain/6"), local)
    with pytest.raises(UnsafeURLError, match="too many redirects"):
        safe_fetch(fixture_sites.url("redirect/loop"), local)


def test_host_header_is_kept_while_connecting_to_the_validated_ip(fixture_sites: FixtureSites) -> None:
    policy = URLPolicy(allow_hosts={"fixture.test"}, resolver=fake_resolver)
    result = safe_fetch(f"http://fixture.test:{fixture_sites.port}/echo-host", policy)
    assert f"fixture.test:{fixture_sites.port}" in result.text


def test_size_limit_streamed_and_declared(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    with pytest.raises(ResponseTooLargeError, match="exceeds"):
        safe_fetch(fixture_sites.url("huge"), local)
    with pytest.raises(ResponseTooLargeError, match="declares"):
        safe_fetch(fixture_sites.url("huge-declared"), local)


def test_time_limits(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        safe_fetch(fixture_sites.url("slow"), local)  # bytes keep trickling: the total deadline stops it
    with pytest.raises(FetchTimeoutError):
        safe_fetch(fixture_sites.url("slow-headers"), local)  # nothing arrives: the read timeout stops it
    assert time.monotonic() - started < 4


def test_non_html_and_errors_are_refused(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    with pytest.raises(FetchError, match="content type"):
        safe_fetch(fixture_sites.url("binary"), local)
    with pytest.raises(FetchError, match="HTTP 404"):
        safe_fetch(fixture_sites.url("nope"), local)


def test_detect_domain_on_every_fixture_page(fixture_sites: FixtureSites, local: URLPolicy) -> None:
    for domain, site in SITES.items():
        page = extract_page(safe_fetch(fixture_sites.url_for(domain), local).text)
        assert page.business_name == site.business_name
        detected, score = detect_domain(page.research_text())
        assert detected == domain, (domain, detected)
        assert score >= 0.6


def test_the_total_deadline_covers_headers_that_trickle_in(fixture_sites: FixtureSites) -> None:
    """One header byte every 0.2 s keeps every read under the read timeout; the total deadline still ends it."""
    policy = URLPolicy(allow_hosts={"127.0.0.1"}, read_timeout=1.0, total_timeout=1.5)
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="longer than 1.5s"):
        safe_fetch(fixture_sites.url("trickle-headers"), policy)
    assert time.monotonic() - started < policy.total_timeout + 0.5
