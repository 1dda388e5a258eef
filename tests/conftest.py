"""Shared fixtures: the app on a real database, a signed-in client per role, factories.

The suite runs on SQLite in memory, and also on PostgreSQL when TEST_DATABASE_URL is set
(every test that uses `app` runs once per database). TEST_REDIS_URL names a real Redis for
job tests; when it is set, an unreachable service fails the run instead of skipping.
"""

import itertools
import os
import re

import pytest

from ticketing.app import create_app
from ticketing.db import db
from ticketing.models import MODELS

DATABASES = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])
_schema_ready: set[str] = set()
_seq = itertools.count(1)


def _database_url(kind: str) -> str:
    if kind == "sqlite":
        return "sqlite:///:memory:"
    return os.environ["TEST_DATABASE_URL"]


@pytest.fixture(params=DATABASES)
def app(request):
    """A fresh app on an empty, seeded database (SGE, the Quipux process, two institutions)."""
    kind = request.param
    config = {
        "TESTING": True,
        "DATABASE_URL": _database_url(kind),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_URL": "http://mesa.test",
        "MAIL_SERVER": None,
        "REDIS_URL": None,
        "SEED_DEMO": False,
    }
    config.update(getattr(request, "param_overrides", {}))
    marker = request.node.get_closest_marker("config")
    if marker:
        config.update(marker.kwargs)
    application = create_app(config)
    prepare_database(application, kind)
    ctx = application.test_request_context()
    ctx.push()
    application.config["DB_KIND"] = kind
    yield application
    _figures_agree(request)
    ctx.pop()
    if not db.is_closed():
        db.close()


def _figures_agree(request) -> None:
    """After every test: the maintained ticket figures equal a recount of the tickets, and
    the search documents what the tickets and articles hold.

    Each test's service calls are thereby checked to keep `ticketing.stats` in step; a test
    that writes tickets behind the services' back calls `stats.rebuild()` afterwards.
    """
    from ticketing import stats
    from ticketing.db import usable_connection

    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        return  # the test's own failure says more
    usable_connection()
    assert stats.differences() == []
    from ticketing import search

    assert search.differences() == [], "the search documents are stale"


def prepare_database(application, kind: str) -> None:
    """Empty the test database of `kind`, then seed SGE, the process and the demo world."""
    from ticketing import search

    db.connect(reuse_if_open=True)
    if kind == "sqlite":
        db.create_tables(MODELS)
        search.install()
    else:
        if kind not in _schema_ready:
            db.drop_tables(MODELS, cascade=True, safe=True)
            db.create_tables(MODELS)
            search.install()
            _schema_ready.add(kind)
        tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
        db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    from ticketing.seeding import seed

    with application.app_context():
        seed()
        _demo_world()


def _demo_world():
    """Two institutions (A and B) with one account per role, and SGE's AGQ."""
    from ticketing import services
    from ticketing.models import Institution, User

    sge = Institution.get(Institution.is_sge == True)
    a = services.create_institution(
        name="Institución A", ruc="1760000230001", sigla="INSTA", stage="produccion"
    )
    b = services.create_institution(
        name="Institución B", ruc="0960000140001", sigla="INSTB", stage="produccion"
    )
    people = [
        ("agq", sge, "1710000017"),
        ("aiq", a, "1710000025"),
        ("focal", a, "1710000033"),
        ("interno", a, "1710000041"),
        ("aiq", b, "1710000058"),
        ("focal", b, "1710000066"),
        ("interno", b, "1710000074"),
    ]
    for role, institution, cedula in people:
        suffix = "" if institution.sigla in ("SGE", "INSTA") else "_b"
        services.create_user(
            services.SYSTEM,
            full_name=f"{role.upper()}{suffix} {institution.sigla}",
            cedula=cedula,
            email=f"{role}{suffix}@{institution.sigla.lower()}.ec",
            role=role,
            institution_id=institution.id,
            invite=False,
        )
    User.update(password_hash=_password_hash()).execute()


PASSWORD = "correct horse battery"
_hash_cache: list[str] = []


def _password_hash() -> str:
    """Hash the demo password once per run: scrypt is slow by design."""
    if not _hash_cache:
        from werkzeug.security import generate_password_hash

        _hash_cache.append(generate_password_hash(PASSWORD))
    return _hash_cache[0]


def user(key: str):
    """A demo account: 'agq', 'aiq', 'focal', 'interno' (institution A) or with '_b' (B)."""
    from ticketing.models import User

    return User.get(User.email.startswith(f"{key}@"))


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, key: str):
        """Sign in as a demo account; returns the user."""
        account = user(key)
        self.client.post("/logout")
        response = self.client.post("/login", data={"email": account.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return account

    def logout(self):
        self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def make_ticket(requester=None, type_slug="soporte", **overrides):
    """Open a ticket through the service layer, with valid defaults for the support type."""
    from ticketing import services

    requester = requester or user("interno")
    title = overrides.pop("title", f"Ticket de prueba {next(_seq)}")
    fields = {
        "categoria": "incidente",
        "modulo": "bandeja_entrada",
        "descripcion": "No puedo firmar un documento.",
    }
    if type_slug != "soporte":
        fields = {}
    fields.update(overrides.pop("fields", {}))
    return services.open_ticket(requester, type_slug, title, fields, **overrides)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (fixtures' teardown reads `rep_call`)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
