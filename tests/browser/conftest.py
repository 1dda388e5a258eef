"""Browser fixtures: the real app served from a thread, driven by headless Chromium.

Each test gets a fresh SQLite file (an in-memory database would be private to one
connection, and the server answers from its own threads), seeded with the same world as
the rest of the suite: SGE, the Quipux process, institutions A and B with one account per
role. One Chromium serves the whole package; each signed-in person gets their own
browser context (own cookies), as two people on two computers would.
"""

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD, _demo_world
from ticketing.app import create_app
from ticketing.db import db
from ticketing.models import MODELS, User

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=es",  # the browser's own widgets (file picker) speak Spanish too
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for every browser test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        yield chromium
        chromium.close()


class QuietHandler(WSGIRequestHandler):
    """No access log: a failing test shows its own error, not every request."""

    def log_request(self, code="-", size="-"):
        pass


@dataclass
class Site:
    """The running app: its base URL, the Flask app, and the browser to reach it."""

    url: str
    app: object
    browser: object
    contexts: list = field(default_factory=list)

    def page_as(self, key: str, viewport=None):
        """A new page signed in as a demo account ('interno', 'focal', 'aiq', 'agq', ...)."""
        context = self.browser.new_context(
            viewport=viewport or DESKTOP, locale="es-EC", base_url=self.url
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        account = User.get(User.email.startswith(f"{key}@"))
        page.goto("/login")
        page.get_by_label("Correo electrónico").fill(account.email)
        page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url(re.compile(r"/$"))
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def site(browser, tmp_path):
    """The app on a fresh seeded SQLite file, served on a free loopback port."""
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'mesa.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "browser-test-secret-key",
            "PUBLIC_URL": "http://mesa.test",
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "SEED_DEMO": False,
        }
    )
    db.connect(reuse_if_open=True)
    db.create_tables(MODELS)
    from ticketing import search
    from ticketing.seeding import seed

    search.install()

    with application.app_context():
        seed()
        _demo_world()
    server = make_server("127.0.0.1", 0, application, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    running = Site(url=f"http://127.0.0.1:{server.server_port}", app=application, browser=browser)
    context = application.app_context()
    context.push()
    try:
        yield running
    finally:
        context.pop()
        running.close()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        if not db.is_closed():
            db.close()


def screenshot(page, name: str) -> Path:
    """Save the whole page under test-artifacts/screenshots/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
