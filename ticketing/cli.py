"""Operator commands: `flask --app wsgi db upgrade | seed | create-admin | users create |
process export|import | outbox sweep | stats check|rebuild | search reindex | reminders |
tokens create|revoke | settings`."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from ticketing.db import connected


def _fail(error) -> None:
    message = getattr(error, "message", str(error))
    click.echo(f"error: {message}", err=True)
    for name, text in getattr(error, "fields", {}).items():
        click.echo(f"  {name}: {text}", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    dbgroup = AppGroup("db", help="Database schema.")

    @dbgroup.command("upgrade")
    @connected
    def db_upgrade():
        """Apply pending schema migrations."""
        from ticketing.seeding import upgrade

        applied = upgrade()
        click.echo(f"applied: {', '.join(applied)}" if applied else "schema up to date")

    app.cli.add_command(dbgroup)

    @app.cli.command("seed")
    @click.option("--demo", is_flag=True, help="Also load the demo institutions and accounts.")
    @connected
    def seed_command(demo):
        """Load SGE and the Quipux process (idempotent)."""
        from ticketing.process_io import ImportErrors
        from ticketing.seeding import load_demo, seed

        try:
            counts = seed()
        except ImportErrors as exc:
            for line in exc.errors:
                click.echo(line, err=True)
            sys.exit(1)
        click.echo(f"seeded: {counts}")
        if demo:
            for email, role, password in load_demo():
                click.echo(f"{role:8} {email} {password}")

    @app.cli.command("create-admin")
    @click.option("--name", prompt="Nombres y apellidos")
    @click.option("--cedula", prompt="Cédula")
    @click.option("--email", prompt="Correo electrónico")
    @click.password_option()
    @connected
    def create_admin(name, cedula, email, password):
        """Create an AGQ account in SGE."""
        from ticketing import services
        from ticketing.errors import DomainError
        from ticketing.seeding import ensure_sge

        sge = ensure_sge()
        try:
            user = services.create_user(
                services.SYSTEM,
                full_name=name,
                cedula=cedula,
                email=email,
                role="agq",
                institution_id=sge.id,
                password=password,
                invite=False,
            )
        except DomainError as exc:
            _fail(exc)
        click.echo(f"created AGQ {user.email}")

    users = AppGroup("users", help="People.")

    @users.command("create")
    @click.option("--name", required=True)
    @click.option("--cedula", required=True)
    @click.option("--email", required=True)
    @click.option("--role", required=True, type=click.Choice(["interno", "focal", "aiq", "agq"]))
    @click.option("--institution", required=True, help="RUC or sigla")
    @click.option("--cargo", default="")
    @click.option("--password", default=None, help="Omit to mail an invitation instead.")
    @connected
    def users_create(name, cedula, email, role, institution, cargo, password):
        """Add a person to an institution (by RUC or sigla)."""
        from ticketing import services
        from ticketing.errors import DomainError
        from ticketing.models import Institution

        found = Institution.get_or_none(
            (Institution.ruc == institution) | (Institution.sigla == institution.upper())
        )
        if found is None:
            _fail(ValueError(f"no institution with RUC or sigla {institution!r}"))
        try:
            user = services.create_user(
                services.SYSTEM,
                full_name=name,
                cedula=cedula,
                email=email,
                role=role,
                institution_id=found.id,
                cargo=cargo,
                password=password,
                invite=not password,
            )
        except DomainError as exc:
            _fail(exc)
        click.echo(f"created {user.role} {user.email} in {found.sigla}")

    app.cli.add_command(users)

    @app.cli.command("settings")
    def settings_command():
        """Print the settings table (for the README)."""
        from ticketing.settings import SETTINGS

        click.echo("| setting | default | meaning |\n|---|---|---|")
        for key, (default, doc) in SETTINGS.items():
            click.echo(f"| `{key}` | `{default}` | {doc} |")

    process = AppGroup("process", help="Import and export the process definition.")

    @process.command("export")
    @connected
    def process_export():
        """Write the whole process as YAML to stdout."""
        from ticketing.process_io import dump_yaml, export_process

        click.echo(dump_yaml(export_process()))

    @process.command("import")
    @click.argument("path", type=click.File("r", encoding="utf-8"))
    @connected
    def process_import(path):
        """Import a process file (idempotent, all or nothing)."""
        from ticketing.process_io import ImportErrors, import_process, parse

        try:
            counts = import_process(parse(path.read()))
        except ImportErrors as exc:
            for line in exc.errors:
                click.echo(line, err=True)
            sys.exit(1)
        click.echo(f"imported: {counts}")

    app.cli.add_command(process)

    outbox = AppGroup("outbox", help="The outbox of notification mail.")

    @outbox.command("sweep")
    @connected
    def outbox_sweep():
        """Re-enqueue (or, without Redis, send) mail left pending past the delay, and the
        webhook deliveries that are due (a retry's time has come, or a deliverer died)."""
        from notifications.jobs import sweep
        from notifications.webhooks import sweep_webhooks

        swept = sweep()
        webhooks = sweep_webhooks()
        click.echo(f"swept: {swept}" + (f" (webhook deliveries: {webhooks})" if webhooks else ""))

    app.cli.add_command(outbox)

    figures = AppGroup("stats", help="The maintained ticket figures (queue counts, weeks).")

    @figures.command("check")
    @connected
    def stats_check():
        """Compare the maintained figures with a recount of the tickets; exit 1 if they differ."""
        from ticketing import stats

        differences = stats.differences()
        for line in differences[:50]:
            click.echo(line, err=True)
        if differences:
            click.echo(f"differences: {len(differences)}", err=True)
            sys.exit(1)
        click.echo("figures agree with the tickets")

    @figures.command("rebuild")
    @connected
    def stats_rebuild():
        """Replace the maintained figures with a recount of the tickets."""
        from ticketing import stats

        counts, weeks = stats.rebuild()
        click.echo(f"rebuilt: {counts} count rows, {weeks} week rows")

    app.cli.add_command(figures)

    finder = AppGroup("search", help="The full-text search index.")

    @finder.command("reindex")
    @connected
    def search_reindex():
        """Rebuild every ticket's and article's search documents from what they hold."""
        from ticketing import search

        search.install()
        written = search.reindex()
        click.echo(f"reindexed: {written} tickets and articles")

    app.cli.add_command(finder)

    @app.cli.command("reminders")
    @connected
    def reminders():
        """Queue the deadline reminders now due (running it twice sends nothing twice)."""
        from notifications.reminders import send_reminders

        click.echo(f"reminders queued: {send_reminders()}")

    tokens = AppGroup("tokens", help="Personal API tokens.")

    @tokens.command("create")
    @click.argument("email")
    @click.option("--name", default="", help="What the token is for (shown in the UI).")
    @connected
    def create(email, name):
        """Make a token for the person with EMAIL and print it (it is shown only this once)."""
        from ticketing.api_tokens import create_token
        from ticketing.errors import DomainError
        from ticketing.models import User
        from ticketing.services import SYSTEM

        owner = User.get_or_none(User.email == email.strip().lower())
        if owner is None:
            _fail(ValueError(f"no account with email {email!r}"))
        try:
            row, secret = create_token(SYSTEM, owner=owner, name=name)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"token {row.id} for {owner.email} (shown only now; keep it safe):", err=True)
        click.echo(secret)

    @tokens.command("revoke")
    @click.argument("token_id", type=int)
    @connected
    def revoke(token_id):
        """Revoke the token with TOKEN_ID."""
        from ticketing.api_tokens import revoke_token
        from ticketing.errors import DomainError
        from ticketing.services import SYSTEM

        try:
            row = revoke_token(SYSTEM, token_id)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"revoked token {row.id}")

    app.cli.add_command(tokens)
