"""Mail commands: `flask --app wsgi mail-in | outbox sweep | outbox deliver | reminders`."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from ticketing.db import connected, db

EX_TEMPFAIL = 75  # sysexits.h: the mail server defers and retries


def register(app: Flask) -> None:
    """Add the mail commands to `app`'s CLI."""

    @app.cli.command("mail-in")
    @click.option(
        "--recipient",
        default=None,
        help="Envelope recipient, as the mail server passes it (else To: is used).",
    )
    def mail_in(recipient):
        """Read ONE RFC 822 message on stdin; exit 1 when it is refused (it is kept)."""
        from peewee import PeeweeException

        from notifications.mailin import ACCEPTED, receive

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

    outbox = AppGroup("outbox", help="The outbox of notification mail.")

    @outbox.command("sweep")
    @connected
    def outbox_sweep():
        """Re-enqueue (or, without Redis, send) mail left pending past the delay."""
        from notifications.jobs import sweep

        click.echo(f"swept: {sweep()}")

    app.cli.add_command(outbox)

    @app.cli.command("reminders")
    @connected
    def reminders():
        """Queue the deadline reminders now due (running it twice sends nothing twice)."""
        from notifications.reminders import send_reminders

        click.echo(f"reminders queued: {send_reminders()}")
