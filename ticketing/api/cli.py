"""`flask --app wsgi tokens create EMAIL [--name NAME]` and `tokens revoke ID`."""

import click
from flask.cli import AppGroup


def register(app) -> None:
    """Add the `tokens` command group to `app`."""
    from ticketing.cli import _fail
    from ticketing.db import connected

    tokens = AppGroup("tokens", help="Personal API tokens.")

    @tokens.command("create")
    @click.argument("email")
    @click.option("--name", default="", help="What the token is for (shown in the UI).")
    @connected
    def create(email, name):
        """Make a token for the person with EMAIL and print it (it is shown only this once)."""
        from ticketing.api.tokens import create_token
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
        from ticketing.api.tokens import revoke_token
        from ticketing.errors import DomainError
        from ticketing.services import SYSTEM

        try:
            row = revoke_token(SYSTEM, token_id)
        except DomainError as exc:
            _fail(exc)
        click.echo(f"revoked token {row.id}")

    app.cli.add_command(tokens)
