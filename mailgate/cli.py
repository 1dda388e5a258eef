"""The mail gate's command: `flask --app wsgi mail-in`, which the mail server pipes each message to."""

import sys

import click
from flask import Flask

from ticketing.db import db

EX_TEMPFAIL = 75  # sysexits.h: the mail server defers and retries


def register(app: Flask) -> None:
    """Add `mail-in` to `app`'s CLI."""

    @app.cli.command("mail-in")
    @click.option(
        "--recipient",
        default=None,
        help="Envelope recipient, as the mail server passes it (else To: is used).",
    )
    def mail_in(recipient):
        """Read ONE RFC 822 message on stdin; exit 1 when it is refused (it is kept)."""
        from peewee import PeeweeException

        from mailgate.inbound import ACCEPTED, receive

        raw = sys.stdin.buffer.read()
        opened = False
        try:
            opened = db.connect(reuse_if_open=True)
            record = receive(raw, envelope_recipient=recipient)
        except (PeeweeException, OSError) as exc:
            # not even stored: EX_TEMPFAIL makes the mail server keep it and try again
            click.echo(f"temporary failure, not stored: {exc}", err=True)
            sys.exit(EX_TEMPFAIL)
        finally:
            if opened and not db.is_closed():
                db.close()
        if record.status != ACCEPTED:
            click.echo(f"refused: {record.reason} (inbound mail {record.id})", err=True)
            sys.exit(1)
        click.echo(f"accepted: MESA-{record.ticket_id} (inbound mail {record.id})")
