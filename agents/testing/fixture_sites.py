"""A local fixture website for tests and benchmarks: one homepage per built-in domain.

``FixtureSites`` serves on 127.0.0.1 (a free port) from a thread, with deterministic
pages and no network. Besides ``/site/<domain>/`` it serves the hostile endpoints the
URL guard is tested against::

    /redirect/metadata        302 -> http://169.254.169.254/latest/meta-data/
    /redirect/metadata-v6     302 -> http://[fd00:ec2::254]/
    /redirect/localhost       302 -> http://localhost:<port>/site/ecommerce/
    /redirect/scheme          302 -> file:///etc/passwd
    /redirect/site/<domain>   302 -> /site/<domain>/ (relative)
    /redirect/chain/<n>       n hops, then /site/ecommerce/
    /redirect/loop            redirects to itself
    /huge                     ``huge_bytes`` of HTML, streamed without Content-Length
    /huge-declared            the same with a Content-Length header
    /slow                     headers at once, then one byte every 0.1 s
    /slow-headers             nothing until ``slow_seconds`` have passed
    /trickle-headers          one header byte every ``trickle_interval`` s for ``slow_seconds``
                              (each read succeeds: only a total deadline stops it)
    /charset-unknown          a homepage declared as ``charset=x-unknown`` (``?charset=`` another)
    /long-name                a homepage whose site name is ``long_name_chars`` characters long
                              and whose description is over 5,000
    /binary                   application/octet-stream
    /echo-host                the Host header the request carried
"""

from __future__ import annotations

import contextlib
import html
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteContent:
    business_name: str
    tagline: str
    offer_label: str
    offerings: tuple[str, ...]
    about: str
    city: str


SITES: dict[str, SiteContent] = {
    "ecommerce": SiteContent(
        "Northwind Outfitters", "Sustainable apparel, shipped free over $50", "Shop the collection",
        ("Organic cotton tees", "Recycled denim jackets", "Merino travel socks", "New arrivals: linen shirts"),
        "Northwind Outfitters is an online store for everyday apparel. Add to cart, check out in seconds and enjoy "
        "free shipping and 60-day returns. Sign up for our newsletter for a 10% discount on your first order.",
        "Portland"),
    "restaurant": SiteContent(
        "Trattoria Bellavista", "Wood-fired Italian kitchen & wine bar", "Our menu",
        ("Antipasti and appetizers", "Handmade pasta", "Wood-fired pizza", "Tiramisu and gelato dessert"),
        "Family-run restaurant where our chef cooks seasonal Italian cuisine. Join us for lunch, dinner or weekend "
        "brunch, browse the wine list at happy hour, or order takeout. Reservations recommended for dine-in.",
        "Boston"),
    "automotive_dealership": SiteContent(
        "Summit Ridge Motors", "New & pre-owned vehicles, financing for every budget", "Shop inventory",
        ("New vehicles: SUV, sedan and truck models", "Certified pre-owned", "Trade-in appraisal", "Service center"),
        "Summit Ridge Motors is a family dealership with over 400 new vehicles and used cars in stock. Schedule a "
        "test drive, value your trade-in online, explore lease and financing offers, or book an oil change.",
        "Denver"),
    "manufacturing": SiteContent(
        "Keystone Precision Works", "CNC machining and fabrication for OEMs", "Capabilities",
        ("5-axis CNC machining", "Sheet metal fabrication", "Assembly and kitting", "Quality control inspection"),
        "An ISO 9001 certified manufacturer with two production plants. Our factory machines precision components "
        "to tight tolerances for industrial OEM customers and manages the supply chain from prototype to volume.",
        "Cleveland"),
    "agriculture": SiteContent(
        "Green Valley Farms", "Family farming since 1952", "What we grow",
        ("Heirloom tomatoes", "Non-GMO soybeans and corn", "Orchard apples", "Greenhouse lettuce"),
        "Green Valley Farms grows crops on 2,400 acres with drip irrigation and careful soil care. Every harvest "
        "goes to grocery chains, farmers markets and our growers cooperative. Organic produce from our farm.",
        "Fresno"),
    "saas": SiteContent(
        "Flowboard", "Workflow automation for modern teams", "Product",
        ("Visual workflow builder", "200+ integrations", "Real-time dashboard", "Enterprise plan with SSO"),
        "Flowboard is a cloud-based SaaS platform that automates busywork. Start your free trial, connect your tools "
        "through our API and integrations, and see pricing per seat. Book a demo to see the enterprise plan.",
        "Austin"),
    "marketing_agency": SiteContent(
        "Brightline Creative", "A digital marketing agency that ships results", "Services",
        ("SEO and content strategy", "PPC and paid media", "Social media campaigns", "Branding and creative"),
        "Brightline Creative is a full-service marketing agency. We plan campaigns across search, social and "
        "display, track impressions to conversion, and report ROAS every week. Read our client case studies.",
        "Chicago"),
    "legal_services": SiteContent(
        "Harper & Cole LLP", "Trusted attorneys for families and businesses", "Practice areas",
        ("Estate planning", "Family law", "Corporate law", "Personal injury litigation"),
        "Harper & Cole is a law firm of 25 attorneys and paralegals. Our lawyers provide counsel in litigation, "
        "estate planning and business matters. Schedule a free consultation with an attorney today.",
        "Atlanta"),
    "education": SiteContent(
        "Lumen Academy", "Career-ready courses taught by industry instructors", "Courses",
        ("Data science bootcamp", "Web development course", "UX design certificate", "Business English classes"),
        "Lumen Academy helps students enroll in online courses with a practical curriculum. Our instructors teach "
        "live lessons each semester; graduates earn a certificate. Flexible tuition and enrollment all year.",
        "Toronto"),
    "nonprofit": SiteContent(
        "Harbor Hope Foundation", "Food, shelter and tutoring for our neighbors", "Programs",
        ("Community food bank", "Emergency shelter", "After-school tutoring", "Annual gala fundraising"),
        "Harbor Hope is a 501(c)(3) nonprofit charity. Donate today: every donation is tax-deductible. Our donors and "
        "volunteers power our mission, and each grant extends our impact. Volunteer with us this season.",
        "Baltimore"),
    "healthcare_clinic": SiteContent(
        "Cedar Family Clinic", "Primary care for every stage of life", "Services",
        ("Primary care and annual physicals", "Pediatrics", "Dermatology", "Telehealth visits"),
        "Cedar Family Clinic is a medical practice where physicians and nurse practitioners care for patients of all "
        "ages. Book an appointment online, use telehealth, or visit urgent care. Most insurance accepted.",
        "Minneapolis"),
    "fitness": SiteContent(
        "Ironbark Fitness", "Strength, HIIT and yoga under one roof", "Classes & membership",
        ("HIIT and spin classes", "Reformer pilates", "Yoga", "Personal training"),
        "Ironbark is a gym and fitness studio with certified trainers. See the class schedule, pick a membership, "
        "and your first class free. Strength workouts, spin and pilates seven days a week.",
        "San Diego"),
    "fintech": SiteContent(
        "Clearpath Bank", "Mobile banking without the fees", "Accounts",
        ("No-fee checking account", "High-yield savings account (4.1% APY)", "Debit card with cashback",
         "Personal loans"),
        "Clearpath is a fintech bank with FDIC-insured deposits. Open a checking account in minutes, send instant "
        "transfers, avoid overdraft fees and track your credit score in our mobile banking app.",
        "Charlotte"),
    "insurance": SiteContent(
        "Beacon Mutual Insurance", "Coverage you can count on", "Insurance products",
        ("Auto insurance", "Home insurance", "Life insurance", "Umbrella policies"),
        "Beacon Mutual protects 200,000 policyholders. Get a quote in five minutes, choose your deductible and "
        "coverage, and file claims online. Local agents handle underwriting for every insured family.",
        "Hartford"),
    "real_estate": SiteContent(
        "Oakline Realty", "Homes for sale across the Bay", "Featured listings",
        ("3 bedrooms, 1,850 sq ft single-family home", "Downtown condo listings", "Open house this Sunday",
         "Free home valuation"),
        "Oakline Realty is a real estate brokerage. Our realtor team helps you buy a home or sell your home, with "
        "every MLS listing, neighborhood guides and mortgage partners for each property.",
        "Oakland"),
    "logistics": SiteContent(
        "Ridgeway Freight", "Reliable freight and warehousing coast to coast", "Services",
        ("Full truckload trucking", "LTL freight", "Warehousing and pallets storage", "Last-mile delivery"),
        "Ridgeway Freight is a 3PL logistics partner with a fleet of 300 trucks. Track every shipment live, rely on "
        "our dispatch team and carriers network, and count on 98% on-time delivery across the supply chain.",
        "Memphis"),
    "telecom": SiteContent(
        "Skyline Fiber", "Gigabit fiber internet and 5G mobile", "Plans",
        ("Fiber 300 Mbps", "Fiber 1 Gbps", "Unlimited data 5G mobile plans", "Home + mobile bundle"),
        "Skyline Fiber is an ISP bringing fiber broadband to 40 towns. Check the coverage map, pick mobile plans "
        "with roaming, or go prepaid. Every plan includes a Wi-Fi 6 router.",
        "Omaha"),
    "energy_utility": SiteContent(
        "Evergreen Power", "Clean electricity for homes and businesses", "Energy plans",
        ("Time-of-use electricity plans", "Community solar", "Battery storage", "EV charging rates"),
        "Evergreen Power is a renewable energy utility. We run solar and wind on a modern grid, read every smart "
        "meter daily, publish kWh rates and outage maps, and help customers improve efficiency.",
        "Sacramento"),
    "media_streaming": SiteContent(
        "Marquee+", "Stream award-winning originals in 4K", "Now streaming",
        ("Original series", "Movies and documentaries", "Kids collection", "New episodes every Friday"),
        "Marquee+ is a streaming service. Subscribe to watch originals, build your watchlist, binge whole series "
        "ad-free, and catch weekly premieres. Stream on TV, phone or web.",
        "Los Angeles"),
    "hospitality": SiteContent(
        "Casa Azul Resort", "A boutique hotel on the Riviera Maya", "Rooms & suites",
        ("Ocean view suites", "Garden rooms", "Spa and wellness", "Concierge tours"),
        "Casa Azul is a boutique hotel and resort for your vacation. Book your stay with our best rate guarantee, "
        "enjoy amenities from the spa to the rooftop pool, and let our concierge plan your travel. Nightly rates "
        "include breakfast for all guests.",
        "Tulum"),
}

_STYLE = "body{font-family:sans-serif;max-width:60rem;margin:auto}nav a{margin-right:1rem}"


def render_site(domain: str) -> str:
    """The deterministic homepage of ``domain``."""
    site = SITES[domain]
    e = html.escape
    items = "".join(f"<li>{e(item)}</li>" for item in site.offerings)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(site.business_name)} | {e(site.tagline)}</title>
<meta name="description" content="{e(site.tagline)}">
<meta property="og:site_name" content="{e(site.business_name)}">
<meta property="og:type" content="website">
<style>{_STYLE}</style>
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"event": "pageview"}});</script>
</head><body>
<header><nav><a href="/site/{domain}/">Home</a><a href="#offerings">{e(site.offer_label)}</a>
<a href="#about">About us</a><a href="#contact">Contact</a></nav>
<h1>{e(site.business_name)}</h1><p class="tagline">{e(site.tagline)}</p></header>
<main>
<section id="offerings"><h2>{e(site.offer_label)}</h2><ul>{items}</ul></section>
<section id="about"><h2>About {e(site.business_name)}</h2><p>{e(site.about)}</p></section>
<section id="contact"><h2>Visit us</h2><p>{e(site.city)} · hello@example.com · (555) 010-{len(domain):04d}</p></section>
</main>
<footer><p>&copy; 2025 {e(site.business_name)}. All rights reserved. <a href="/privacy">Privacy</a></p></footer>
</body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: simple streaming

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("fixture %s", format % args)

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        # The client giving up (size/time limit tests) is expected.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            path, _, query = self.path.partition("?")
            self._route(path, dict(parse_qsl(query)))

    def _route(self, path: str, query: dict[str, str]) -> None:
        sites = self.server.sites
        parts = [p for p in path.split("/") if p]
        if not parts:
            links = "".join(f'<li><a href="/site/{d}/">{d}</a></li>' for d in sorted(SITES))
            self._send(200, f"<html><body><ul>{links}</ul></body></html>".encode())
        elif parts[0] == "site" and len(parts) >= 2 and parts[1] in SITES:
            self._send(200, render_site(parts[1]).encode())
        elif parts[:2] == ["redirect", "metadata"]:
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif parts[:2] == ["redirect", "metadata-v6"]:
            self._redirect("http://[fd00:ec2::254]/latest/meta-data/")
        elif parts[:2] == ["redirect", "localhost"]:
            self._redirect(f"http://localhost:{sites.port}/site/ecommerce/")
        elif parts[:2] == ["redirect", "scheme"]:
            self._redirect("file:///etc/passwd")
        elif parts[:2] == ["redirect", "site"] and len(parts) == 3:
            self._redirect(f"/site/{parts[2]}/")
        elif parts[:2] == ["redirect", "chain"] and len(parts) == 3 and parts[2].isdigit():
            hops = int(parts[2])
            self._redirect(f"/redirect/chain/{hops - 1}" if hops > 1 else "/site/ecommerce/")
        elif parts[:2] == ["redirect", "loop"]:
            self._redirect("/redirect/loop")
        elif parts == ["huge"] or parts == ["huge-declared"]:
            self._huge(declared=parts == ["huge-declared"])
        elif parts == ["slow"]:
            self._slow()
        elif parts == ["slow-headers"]:
            sites.stopping.wait(sites.slow_seconds)
            self._send(200, b"<html>finally</html>")
        elif parts == ["trickle-headers"]:
            self._trickle_headers()
        elif parts == ["charset-unknown"]:
            charset = query.get("charset", "x-unknown")
            self._send(200, render_site("restaurant").encode(), f"text/html; charset={charset}")
        elif parts == ["long-name"]:
            name = ("Trattoria Bellavista " * (sites.long_name_chars // 21 + 1))[: sites.long_name_chars]
            page = render_site("restaurant").replace("Trattoria Bellavista", html.escape(name), 2)
            tagline = html.escape(SITES["restaurant"].tagline)
            page = page.replace(f'name="description" content="{tagline}"',
                                f'name="description" content="{tagline * (5000 // len(tagline) + 1)}"')
            self._send(200, page.encode())
        elif parts == ["echo-host"]:
            self._send(200, f"<html><body>{html.escape(self.headers.get('Host', ''))}</body></html>".encode())
        elif parts == ["binary"]:
            self._send(200, bytes(range(256)) * 16, "application/octet-stream")
        else:
            self._send(404, b"<html><body>not found</body></html>")

    def _huge(self, declared: bool) -> None:
        size = self.server.sites.huge_bytes
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declared:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        sent = 0
        while sent < size and not self.server.sites.stopping.is_set():
            self.wfile.write(chunk)
            sent += len(chunk)

    def _trickle_headers(self) -> None:
        # Raw bytes: the status line, then a header that never ends while the clock runs.
        sites = self.server.sites
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Trickle: ")
        self.wfile.flush()
        waited = 0.0
        while waited < sites.slow_seconds and not sites.stopping.wait(sites.trickle_interval):
            self.wfile.write(b"a")
            self.wfile.flush()
            waited += sites.trickle_interval
        self.wfile.write(b"\r\n\r\n<html><body>finally</body></html>")

    def _slow(self) -> None:
        sites = self.server.sites
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>")
        self.wfile.flush()
        waited = 0.0
        while waited < sites.slow_seconds and not sites.stopping.wait(0.1):
            self.wfile.write(b".")
            self.wfile.flush()
            waited += 0.1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sites: FixtureSites


class FixtureSites:
    """The fixture website; ``with FixtureSites() as sites: sites.url_for("saas")``."""

    def __init__(
        self,
        *,
        huge_bytes: int = 5 * 1024 * 1024,
        slow_seconds: float = 10.0,
        trickle_interval: float = 0.2,
        long_name_chars: int = 300,
    ) -> None:
        self.huge_bytes = huge_bytes
        self.slow_seconds = slow_seconds
        self.trickle_interval = trickle_interval
        self.long_name_chars = long_name_chars
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fixture sites not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domains(self) -> list[str]:
        return sorted(SITES)

    def url_for(self, domain: str) -> str:
        return f"{self.base_url}/site/{domain}/"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def start(self) -> FixtureSites:
        self.stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sites = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture-sites", daemon=True)
        self._thread.start()
        log.info("fixture sites on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop the server we started (slow handlers see ``stopping`` and return)."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FixtureSites:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
