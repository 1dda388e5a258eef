"""Every operator command run as the operator runs it: a `flask` process, real stdin, exit code.

The database is a fresh SQLite file, and a PostgreSQL schema of its own when
TEST_DATABASE_URL is set (the schema comes from `db upgrade`, never from the models).
Cases share one prepared database per kind: each process start costs about a second.
"""

import datetime as dt
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from notifications.reminders import PASSED
from ticketing.db import make_database
from ticketing.models import (
    MODELS,
    PENDING,
    InboundMail,
    Outbox,
    Queue,
    Ticket,
    TicketType,
    User,
    now,
)

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])
# settings of the machine running the tests must not reach the commands
_SCRUBBED = {
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_SERVER",
    "SECRET_KEY",
    "SEED_DEMO",
    "INSTANCE_PATH",
    "PUBLIC_URL",
    "FLASK_APP",
}
SCHEMA = "mesa_cli_test"


def _flask_command() -> list[str]:
    beside = Path(sys.executable).with_name("flask")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "flask"]


class Mesa:
    """Runs `flask --app wsgi ...` against one database, and reads that database back."""

    def __init__(self, database_url: str, instance: Path, **settings):
        self.database_url = database_url
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in _SCRUBBED and not k.startswith(("MESA_", "MAIL_"))
        }
        self.env.update(
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(instance),
            SECRET_KEY="cli-test-secret",
            PUBLIC_URL="http://mesa.test",
            SEED_DEMO="1",
            PYTHONUNBUFFERED="1",
        )
        self.env.update({k: str(v) for k, v in settings.items()})

    def run(self, *args, input: bytes | str = b"", **settings) -> subprocess.CompletedProcess:
        """One command; stdout and stderr as text."""
        env = dict(self.env, **{k: str(v) for k, v in settings.items()})
        data = input.encode() if isinstance(input, str) else input
        result = subprocess.run(
            [*_flask_command(), "--app", "wsgi", *args],
            input=data,
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=180,  # a hang fails the test instead of the whole run
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    def ok(self, *args, **kwargs) -> subprocess.CompletedProcess:
        """A command that must succeed."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    @contextmanager
    def models(self):
        """The models bound to this database (read what the commands wrote)."""
        database = make_database(self.database_url)
        with database.bind_ctx(MODELS):
            database.connect()
            try:
                yield
            finally:
                database.close()


def _fresh_schema(schema: str, *, create: bool = True) -> None:
    """Drop (and create again) a schema of its own in TEST_DATABASE_URL's database."""
    import psycopg2

    with psycopg2.connect(os.environ["TEST_DATABASE_URL"]) as connection:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            if create:
                cursor.execute(f'CREATE SCHEMA "{schema}"')
    connection.close()


def _postgres_url(schema: str) -> str:
    _fresh_schema(schema)
    base = os.environ["TEST_DATABASE_URL"]
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"


def prepared(tmp: Path, kind: str = "sqlite", schema: str = SCHEMA, **settings) -> Mesa:
    """A `Mesa` on an empty database of `kind` (nothing run yet)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'mesa.sqlite3'}"  # an absolute path: four slashes
    else:
        url = _postgres_url(schema)
    return Mesa(url, tmp / "instance", **settings)


@pytest.fixture(scope="module", params=KINDS)
def mesa(request, tmp_path_factory):
    """A database made by `db upgrade`, `seed` and `seed --demo`, each checked on the way."""
    tmp = tmp_path_factory.mktemp(f"cli-{request.param}")
    mesa = prepared(tmp, request.param)
    first = mesa.ok("db", "upgrade")
    assert first.stdout.startswith("applied: 001_initial"), first.stdout
    seeded = mesa.ok("seed")
    assert "seeded:" in seeded.stdout and "ticket_types" in seeded.stdout
    with mesa.models():
        types = TicketType.select().count()
        assert TicketType.select().where(TicketType.slug == "escalamiento-sge").exists()
        assert not User.select().exists()
    demo = mesa.ok("seed", "--demo")
    accounts = [line.split() for line in demo.stdout.splitlines() if "@" in line]
    assert ["agq", "agq@sge.gob.ec"] == accounts[0][:2], demo.stdout
    assert {a[1] for a in accounts} >= {"aiq@minej.gob.ec", "interno@sepru.gob.ec"}
    with mesa.models():
        assert TicketType.select().count() == types  # seeding twice adds nothing
        assert User.select().count() == len(accounts)
        assert Queue.get(Queue.email == "mesadeayuda@minej.gob.ec").institution.sigla == "MINEJ"
    mesa.kind = request.param
    yield mesa
    if request.param == "postgres":
        _fresh_schema(SCHEMA, create=False)


def test_create_admin_reads_its_prompts_from_stdin(mesa):
    answers = (
        "Ana María Pérez\n1710000090\nana.perez@sge.gob.ec\nclave-muy-larga-1\nclave-muy-larga-1\n"
    )
    result = mesa.ok("create-admin", input=answers)
    assert "created AGQ ana.perez@sge.gob.ec" in result.stdout
    with mesa.models():
        admin = User.get(User.email == "ana.perez@sge.gob.ec")
        assert admin.role == "agq" and admin.institution.is_sge
        assert admin.full_name == "Ana María Pérez" and admin.password_hash

    answers = "Otra Persona\n1234567890\notra@sge.gob.ec\nclave-larga-2\nclave-larga-2\n"
    bad = mesa.run("create-admin", input=answers)
    assert bad.returncode == 1, bad.stdout
    assert "Traceback" not in bad.stderr, bad.stderr
    assert "error: " in bad.stderr and "La cédula no es válida" in bad.stderr
    with mesa.models():
        assert not User.select().where(User.email == "otra@sge.gob.ec").exists()


@pytest.mark.parametrize(
    "cedula, email, message",
    [
        ("1234567890", "nuevo@minej.gob.ec", "La cédula no es válida"),
        ("1710000108", "no-es-un-correo", "Escriba un correo electrónico válido"),
        ("1710000033", "otro@minej.gob.ec", "Ya existe una cuenta con esa cédula"),
    ],
    ids=["cedula", "email", "duplicate"],
)
def test_users_create_refuses_with_one_clear_error(mesa, cedula, email, message):
    result = mesa.run(
        "users",
        "create",
        "--name",
        "Nueva Persona",
        "--cedula",
        cedula,
        "--email",
        email,
        "--role",
        "focal",
        "--institution",
        "MINEJ",
    )
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert message in result.stderr
    with mesa.models():
        assert not User.select().where(User.email == email).exists()


def test_users_create_adds_a_person_and_invites_them(mesa):
    result = mesa.ok(
        "users",
        "create",
        "--name",
        "Rosa Vera",
        "--cedula",
        "1710000116",
        "--email",
        "rosa.vera@minej.gob.ec",
        "--role",
        "focal",
        "--institution",
        "1760000230001",
        "--cargo",
        "Analista",
    )
    assert "created focal rosa.vera@minej.gob.ec in MINEJ" in result.stdout
    with mesa.models():
        rosa = User.get(User.email == "rosa.vera@minej.gob.ec")
        assert rosa.institution.sigla == "MINEJ" and rosa.cargo == "Analista"
        # no password given: a link to choose one, never a password
        invitation = Outbox.get((Outbox.recipient == rosa.email) & (Outbox.event == "invitation"))
        assert "http://mesa.test/" in invitation.body


def test_process_export_then_import_round_trips(mesa, tmp_path):
    exported = mesa.ok("process", "export").stdout
    slugs = {t["slug"] for t in yaml.safe_load(exported)["ticket_types"]}
    assert {"escalamiento-sge", "paso-produccion", "soporte"} <= slugs
    path = tmp_path / "proceso.yaml"
    path.write_text(exported.replace("Soporte de primer nivel", "Soporte (editado)"), "utf-8")
    assert mesa.ok("process", "import", str(path)).stdout.startswith("imported: ")
    with mesa.models():
        assert TicketType.get(TicketType.slug == "soporte").name == "Soporte (editado)"


def test_mail_in_reminders_outbox_sweep_and_settings(mesa):
    mail = (
        "From: Bruno <aiq@minej.gob.ec>\r\nTo: soporte@administracionpublica.gob.ec\r\n"
        f"Subject: Desde la tubería {mesa.kind}\r\nMessage-ID: <{uuid.uuid4()}@minej.gob.ec>\r\n"
        "\r\nNo podemos firmar.\r\n"
    )
    accepted = mesa.ok("mail-in", input=mail)
    assert accepted.stdout.startswith("accepted: MESA-"), accepted.stdout
    with mesa.models():
        ticket = Ticket.get(Ticket.title == f"Desde la tubería {mesa.kind}")
        assert accepted.stdout.split()[1] == f"MESA-{ticket.id}" and ticket.queue_level == 2
    refused = mesa.run("mail-in", input=mail.replace("aiq@minej.gob.ec", "nadie@example.com"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "refused: remitente desconocido: nadie@example.com" in refused.stderr
    with mesa.models():
        row = InboundMail.select().order_by(InboundMail.id.desc()).get()
        assert row.status == "refused" and row.sender == "nadie@example.com"

        # cron's work: a ticket past its due date, and a mail nobody delivered
        Ticket.update(due_at=now() - dt.timedelta(days=1)).where(Ticket.id == ticket.id).execute()
        stuck = Outbox.get(Outbox.ticket == ticket.id)
        old = now() - dt.timedelta(hours=2)
        Outbox.update(status=PENDING, created_at=old).where(Outbox.id == stuck.id).execute()
    # the due date was written behind the services' back: the figures disagree until rebuilt
    check = mesa.run("stats", "check")
    assert check.returncode == 1 and "differences: " in check.stderr, check
    assert mesa.ok("stats", "rebuild").stdout.startswith("rebuilt: ")
    assert mesa.ok("stats", "check").stdout == "figures agree with the tickets\n"
    reminded = mesa.ok("reminders").stdout
    assert reminded.startswith("reminders queued: ") and int(reminded.split()[-1]) >= 1
    assert mesa.ok("reminders").stdout == "reminders queued: 0\n", "a reminder went twice"
    assert mesa.ok("outbox", "sweep").stdout == "swept: 1\n"
    with mesa.models():
        assert Outbox.get_by_id(stuck.id).status != PENDING
        late = Outbox.select().where((Outbox.ticket == ticket.id) & (Outbox.event == PASSED))
        assert late.exists(), "nobody was reminded"

    table = mesa.ok("settings").stdout.splitlines()
    assert table[0] == "| setting | default | meaning |"
    assert any(line.startswith("| `MAX_MAIL_IN_KB` |") for line in table)
