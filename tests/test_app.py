"""The application factory, first start, settings, cookies, CLI and migrations."""

import os
import subprocess
import sys
from pathlib import Path

import peewee
import pytest

from tests.conftest import user
from ticketing.db import db, make_database
from ticketing.models import MODELS, Institution, Ticket, TicketType, User

ROOT = Path(__file__).resolve().parent.parent


def _run_flask(args, env_extra, cwd, input_text=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESA_", "DATABASE_URL"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=120,
    )


def test_first_start_seeds_once_and_second_start_changes_nothing(tmp_path):
    """The embedded default: schema, seed and demo logins at first start; then nothing."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from ticketing.app import create_app\n"
        "app = create_app()\n"
        "from ticketing.db import db\n"
        "from ticketing.models import User, TicketType, TicketTypeVersion\n"
        "db.connect(reuse_if_open=True)\n"
        "print('COUNTS', User.select().count(), TicketType.select().count(),"
        " TicketTypeVersion.select().count())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["MESA_INSTANCE_PATH"] = str(tmp_path)
    first = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert "agq@sge.gob.ec" in first.stdout and "password:" in first.stdout
    counts = [line for line in first.stdout.splitlines() if line.startswith("COUNTS")][0]
    second = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert "password:" not in second.stdout
    assert [line for line in second.stdout.splitlines() if line.startswith("COUNTS")] == [counts]
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "mesa.sqlite3").exists()
    journal = make_database(f"sqlite:///{tmp_path / 'mesa.sqlite3'}")
    journal.connect()
    assert journal.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    journal.close()


def test_secret_key_is_generated_not_constant(tmp_path):
    from ticketing.app import _secret_key

    first = _secret_key(tmp_path)
    assert len(first) >= 32
    assert _secret_key(tmp_path) == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "other"
    assert _secret_key(other) != first


def test_settings_come_from_environment(monkeypatch):
    from ticketing.app import create_app

    monkeypatch.setenv("MAX_ATTACHMENT_MB", "3")
    monkeypatch.setenv("MESA_PUBLIC_URL", "https://mesa.example.ec")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "k"})
    assert app.config["MAX_ATTACHMENT_MB"] == 3
    assert app.config["PUBLIC_URL"] == "https://mesa.example.ec"
    assert app.config["SEED_DEMO"] is False  # DATABASE_URL given: nothing is seeded by itself


def test_session_cookies_are_httponly_lax_and_secure_over_https(app, client):
    account = user("interno")
    response = client.post(
        "/login",
        data={"email": account.email, "password": "correct horse battery", "remember": "y"},
        base_url="https://mesa.test",
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        lowered = cookie.lower()
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "secure" in lowered
    plain = client.post("/login", data={"email": account.email, "password": "x"})
    assert all("secure" not in c.lower() for c in plain.headers.getlist("Set-Cookie"))


def test_every_state_change_is_a_post(app):
    """No GET route changes anything: every form action is POST (CSRF-protected)."""
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.rsplit(".", 1)[-1]
        if name in {
            "logout",
            "set_locale",
            "transition",
            "comment",
            "checklist",
            "assign",
            "action_view",
            "delete_view",
        }:
            assert "GET" not in rule.methods, rule.rule


def test_csrf_is_enforced_on_forms(app, client, auth):
    """With CSRF on (as in production), a form post without its token changes nothing."""
    from tests.conftest import PASSWORD, make_ticket

    ticket = make_ticket()
    auth.login("focal")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/ticket/{ticket.id}/transition", data={"name": "atender"})
        assert refused.status_code == 400
        assert Ticket.get_by_id(ticket.id).state == "nuevo"
        client.post("/logout")
        login = client.post("/login", data={"email": user("interno").email, "password": PASSWORD})
        assert login.status_code != 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_users_create_cli_validates_cedula_and_adds_person(app):
    runner = app.test_cli_runner()
    bad = runner.invoke(
        args=[
            "users",
            "create",
            "--name",
            "Pedro Paz",
            "--cedula",
            "1710000018",
            "--email",
            "pedro@insta.ec",
            "--role",
            "focal",
            "--institution",
            "INSTA",
            "--password",
            "xxxxxxxxxxxx",
        ]
    )
    assert bad.exit_code == 1
    assert "cédula no es válida" in bad.output
    good = runner.invoke(
        args=[
            "users",
            "create",
            "--name",
            "Pedro Paz",
            "--cedula",
            "1710000082",
            "--email",
            "pedro@insta.ec",
            "--role",
            "focal",
            "--institution",
            "1760000230001",
            "--password",
            "xxxxxxxxxxxx",
        ]
    )
    assert good.exit_code == 0, good.output
    pedro = User.get(User.email == "pedro@insta.ec")
    assert pedro.role == "focal" and pedro.institution.sigla == "INSTA"
    again = runner.invoke(
        args=[
            "users",
            "create",
            "--name",
            "Otro",
            "--cedula",
            "1710000082",
            "--email",
            "otro@insta.ec",
            "--role",
            "focal",
            "--institution",
            "INSTA",
        ]
    )
    assert again.exit_code == 1 and "cédula" in again.output


def test_seed_is_idempotent(app):
    from ticketing.process_io import export_process
    from ticketing.seeding import seed

    before = export_process()
    versions = [t.versions.count() for t in TicketType.select().order_by(TicketType.id)]
    seed()
    assert export_process() == before
    assert [t.versions.count() for t in TicketType.select().order_by(TicketType.id)] == versions
    assert Institution.select().where(Institution.is_sge == True).count() == 1


def _columns(database, model):
    return {c.name for c in database.get_columns(model._meta.table_name)}


def _migrated_database(kind, tmp_path):
    if kind == "sqlite":
        return make_database(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"), None
    url = os.environ["TEST_DATABASE_URL"]
    admin = make_database(url)
    admin.connect()
    admin.execute_sql("DROP SCHEMA IF EXISTS mesa_migrations CASCADE")
    admin.execute_sql("CREATE SCHEMA mesa_migrations")
    admin.close()
    sep = "&" if "?" in url else "?"
    return make_database(f"{url}{sep}options=-csearch_path%3Dmesa_migrations"), admin


def test_migrations_build_the_schema_the_models_describe(app, tmp_path):
    """`db upgrade` on an empty database gives every table, column and index of the models."""
    from peewee_migrate import Router

    from ticketing.seeding import MIGRATIONS_DIR

    kind = app.config["DB_KIND"]
    database, admin = _migrated_database(kind, tmp_path)
    database.connect()
    try:
        Router(database, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"]).run()
        tables = set(database.get_tables())
        for model in MODELS:
            assert model._meta.table_name in tables, f"migration lacks {model._meta.table_name}"
            expected = {f.column_name for f in model._meta.sorted_fields}
            assert _columns(database, model) == expected, model._meta.table_name
            found = database.get_indexes(model._meta.table_name)
            indexes = {tuple(i.columns) for i in found}
            for index in model._meta.indexes:
                if isinstance(index, peewee.ModelIndex):  # a named (partial) index
                    columns = [e.column_name for e in index._expressions]
                    assert any(i.name == index._name and i.columns == columns for i in found), (
                        f"{model._meta.table_name} lacks index {index._name} {columns}"
                    )
                    continue
                fields, _unique = index
                columns = tuple(model._meta.fields[f].column_name for f in fields)
                assert columns in indexes, f"{model._meta.table_name} lacks index {columns}"
            for field in model._meta.sorted_fields:  # index=True / unique=True columns
                if (field.index or field.unique) and not field.primary_key:
                    assert (field.column_name,) in indexes, (
                        f"{model._meta.table_name} lacks index ({field.column_name},)"
                    )
        # a second upgrade has nothing to do
        assert Router(database, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"]).run() == []
    finally:
        database.close()
        if admin is not None:
            admin.connect()
            admin.execute_sql("DROP SCHEMA IF EXISTS mesa_migrations CASCADE")
            admin.close()


def test_unique_identifiers_are_enforced_by_the_database(app):
    account = user("interno")
    with pytest.raises(peewee.IntegrityError), db.atomic():
        User.create(
            full_name="Copia",
            cedula=account.cedula,
            email="otra@insta.ec",
            institution=account.institution,
        )
    assert Ticket.select().count() == 0


def test_https_behind_a_trusted_proxy_marks_cookies_secure(app, client):
    app.config["PROXY_COUNT"] = 1
    from werkzeug.middleware.proxy_fix import ProxyFix

    from ticketing.app import SecureCookiesOverHttps

    wrapped = app.wsgi_app
    app.wsgi_app = ProxyFix(SecureCookiesOverHttps(wrapped.wsgi_app), x_proto=1)
    try:
        response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        cookies = response.headers.getlist("Set-Cookie")
        assert cookies and all("; Secure" in c for c in cookies)
    finally:
        app.wsgi_app = wrapped
