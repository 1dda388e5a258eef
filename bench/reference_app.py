"""The yardstick: a bare Flask + peewee app doing the work of Mesa's ticket API, nothing more.

`bench/drive.py` runs it beside Mesa and divides Mesa's figures by its own. It imports
no Mesa code. Its tables (in ref_bench) are Mesa's kind of schema: `ticket` with Mesa's
columns, foreign keys and indexes (partial ones included), `ticket_event` (history),
`outbox` (mail due), small `institution`, `person`, `queue`, `ticket_type` and
`ticket_type_version` tables the foreign keys point at, and `api_token`.

Every request authenticates the caller by a Bearer token (one indexed SELECT, as Mesa
does), checks out a pooled connection (`PooledPostgresqlDatabase`) and answers JSON:

    GET  /tickets/<id>             one ticket of the caller's institution and its history
    GET  /tickets?cursor=&limit=   a page of the institution's tickets in (updated_at, id)
                                   order: a keyset seek, `(updated_at, id) > (m, n)`, on the
                                   (institution_id, updated_at, id) index
    POST /tickets                  {"type", "title", "fields"}: the ticket, its history row
                                   and an outbox row in one transaction; 201 and the ticket

Run it::

    REF_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ref_bench \\
        .venv/bin/gunicorn -w 2 --chdir bench 'reference_app:create_app()'

Its data: `build(n, url)` (or `bench/build_db.py N --only ref`) opens a few hundred
tickets through the same functions the endpoints use, works some of them (history rows,
state changes), then copies them with SQL as `bench/build_db.py` copies Mesa's: the same
N, most in one institution, about a fifth at the second level, spread over two years.
"""

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import os
import random
import threading
import time
import uuid
from contextlib import contextmanager

import peewee as pw
from flask import Flask, abort, g, jsonify, request
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase

TOKEN = "ref-bench-token"  # the caller's Bearer token in the bench database
FOCAL_INSTITUTION = 1  # the caller's institution: most tickets are its
PAGE_DEFAULT, PAGE_MAX = 25, 100
ACTIVE = ("open", "waiting")
_counter = threading.local()


class CountingPool(PooledPostgresqlDatabase):
    """A per-process pool that also counts statements inside `count_statements()`."""

    def execute_sql(self, sql, params=None, *args, **kwargs):
        statements = getattr(_counter, "value", None)
        if statements is not None:
            statements.append(sql)
        return super().execute_sql(sql, params, *args, **kwargs)


@contextmanager
def count_statements():
    """The SQL statements run in this thread inside the block."""
    _counter.value = statements = []
    try:
        yield statements
    finally:
        _counter.value = None


db = pw.DatabaseProxy()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class JSONField(pw.TextField):
    """JSON kept as text, as Mesa keeps it."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class Base(pw.Model):
    class Meta:
        database = db


class Institution(Base):
    name = pw.CharField(max_length=255)
    sigla = pw.CharField(max_length=32, unique=True)


class Person(Base):
    full_name = pw.CharField(max_length=255)
    email = pw.CharField(max_length=254, unique=True)
    institution = pw.ForeignKeyField(Institution)


class ApiToken(Base):
    person = pw.ForeignKeyField(Person)
    token_hash = pw.CharField(max_length=64, unique=True)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "api_token"


class Queue(Base):
    institution = pw.ForeignKeyField(Institution)
    level = pw.SmallIntegerField()


class TicketType(Base):
    slug = pw.CharField(max_length=64, unique=True)
    queue_level = pw.SmallIntegerField()
    initial_state = pw.CharField(max_length=64)

    class Meta:
        table_name = "ticket_type"


class TicketTypeVersion(Base):
    type = pw.ForeignKeyField(TicketType)

    class Meta:
        table_name = "ticket_type_version"


class Ticket(Base):
    """Mesa's ticket: the same columns, foreign keys and indexes."""

    type = pw.ForeignKeyField(TicketType, index=True)
    type_version = pw.ForeignKeyField(TicketTypeVersion)
    title = pw.CharField(max_length=255)
    fields = JSONField(default=dict)
    checklist = JSONField(default=dict)
    state = pw.CharField(max_length=64, index=True)
    state_category = pw.CharField(max_length=16, default="open")
    queue = pw.ForeignKeyField(Queue, index=True)
    queue_level = pw.SmallIntegerField(default=1)
    institution = pw.ForeignKeyField(Institution, index=False)
    requester = pw.ForeignKeyField(Person, index=False)
    assignee = pw.ForeignKeyField(Person, null=True, index=False)
    parent = pw.ForeignKeyField("self", null=True, index=True)
    waiting_on = pw.ForeignKeyField("self", null=True)
    due_at = pw.DateTimeField(null=True, index=True)
    reminded = JSONField(default=list)
    created_at = pw.DateTimeField(default=now, index=True)
    updated_at = pw.DateTimeField(default=now, index=True)
    closed_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = (
            (("institution", "updated_at", "id"), False),
            (("queue_level", "updated_at", "id"), False),
            (("requester", "updated_at", "id"), False),
            (("assignee", "updated_at", "id"), False),
        )


_active = Ticket.state_category.in_(ACTIVE)
for _index in (
    Ticket.index(
        Ticket.institution, Ticket.updated_at, Ticket.id, name="ticket_open_institution"
    ).where(_active),
    Ticket.index(Ticket.queue_level, Ticket.updated_at, Ticket.id, name="ticket_open_level").where(
        _active
    ),
    Ticket.index(Ticket.institution, Ticket.due_at, name="ticket_overdue_institution").where(
        _active & Ticket.due_at.is_null(False)
    ),
    Ticket.index(Ticket.queue_level, Ticket.due_at, name="ticket_overdue_level").where(
        _active & Ticket.due_at.is_null(False)
    ),
):
    Ticket.add_index(_index)


class TicketEvent(Base):
    ticket = pw.ForeignKeyField(Ticket, on_delete="CASCADE", index=True)
    actor = pw.ForeignKeyField(Person, null=True)
    at = pw.DateTimeField(default=now)
    kind = pw.CharField(max_length=32)
    data = JSONField(default=dict)
    public = pw.BooleanField(default=True)

    class Meta:
        table_name = "ticket_event"


class Outbox(Base):
    recipient = pw.CharField(max_length=254)
    recipient_user = pw.ForeignKeyField(Person, null=True)
    ticket = pw.ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    event = pw.CharField(max_length=64)
    context = JSONField(default=dict)
    status = pw.CharField(max_length=16, default="pending", index=True)
    message_id = pw.CharField(max_length=255, unique=True)
    created_at = pw.DateTimeField(default=now, index=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)


MODELS = [
    Institution,
    Person,
    ApiToken,
    Queue,
    TicketType,
    TicketTypeVersion,
    Ticket,
    TicketEvent,
    Outbox,
]


# ---------------------------------------------------------------- the work


def iso(value) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def ticket_json(ticket: Ticket, events) -> dict:
    return {
        "id": ticket.id,
        "title": ticket.title,
        "type_id": ticket.type_id,
        "fields": ticket.fields,
        "checklist": ticket.checklist,
        "state": ticket.state,
        "state_category": ticket.state_category,
        "queue_level": ticket.queue_level,
        "institution": ticket.institution_id,
        "requester": ticket.requester_id,
        "assignee": ticket.assignee_id,
        "due_at": iso(ticket.due_at),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "closed_at": iso(ticket.closed_at),
        "version": ticket.version,
        "history": [
            {"id": e.id, "at": iso(e.at), "kind": e.kind, "actor": e.actor_id, "data": e.data}
            for e in events
        ],
    }


def summary_json(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "title": ticket.title,
        "type_id": ticket.type_id,
        "state": ticket.state,
        "state_category": ticket.state_category,
        "queue_level": ticket.queue_level,
        "institution": ticket.institution_id,
        "requester": ticket.requester_id,
        "assignee": ticket.assignee_id,
        "due_at": iso(ticket.due_at),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "closed_at": iso(ticket.closed_at),
        "version": ticket.version,
    }


def open_ticket(person: Person, type_slug: str, title: str, fields: dict) -> tuple:
    """The ticket, its history row and its outbox row, in one transaction."""
    ticket_type = TicketType.get_or_none(TicketType.slug == type_slug)
    if ticket_type is None:
        abort(422)
    with db.atomic():
        queue = Queue.select(Queue.id).where(Queue.level == ticket_type.queue_level)
        if ticket_type.queue_level == 1:
            queue = queue.where(Queue.institution == person.institution_id)
        queue_id = queue.scalar()
        ticket = Ticket.create(
            type=ticket_type.id,
            type_version=ticket_type.id,
            title=title,
            fields=fields,
            checklist={},
            state=ticket_type.initial_state,
            queue=queue_id,
            queue_level=ticket_type.queue_level,
            institution=person.institution_id,
            requester=person.id,
        )
        event = TicketEvent.create(
            ticket=ticket.id, actor=person.id, kind="created", data={"type": type_slug}
        )
        Outbox.create(
            recipient=person.email,
            recipient_user=person.id,
            ticket=ticket.id,
            event="ticket_opened_queue",
            context={"title": title},
            message_id=f"<{uuid.uuid4().hex}@ref.bench>",
        )
    return ticket, [event]


def _caller() -> Person:
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        abort(401)
    digest = hashlib.sha256(secret.strip().encode()).hexdigest()
    person = (
        Person.select()
        .join(ApiToken)
        .where((ApiToken.token_hash == digest) & ApiToken.revoked_at.is_null())
        .first()
    )
    if person is None:
        abort(401)
    return person


def _cursor(text: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        moment, last_id = json.loads(raw)
        return dt.datetime.fromisoformat(moment), int(last_id)
    except (ValueError, TypeError, binascii.Error):
        abort(400)


def _encode(ticket: Ticket) -> str:
    raw = json.dumps([ticket.updated_at.isoformat(), ticket.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def create_app(config: dict | None = None) -> Flask:
    """The reference app on REF_DATABASE_URL (or config["DATABASE_URL"])."""
    app = Flask(__name__)
    app.config["DATABASE_URL"] = os.environ.get(
        "REF_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ref_bench"
    )
    app.config["POOL_SIZE"] = int(os.environ.get("REF_POOL_SIZE", "8"))
    app.config.update(config or {})
    params = parse(app.config["DATABASE_URL"])
    database = params.pop("database")
    db.initialize(
        CountingPool(
            database,
            max_connections=app.config["POOL_SIZE"],
            stale_timeout=300,
            timeout=10,
            **params,
        )
    )

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)
        g.person = _caller()

    @app.teardown_request
    def _close(_exc):
        if not db.is_closed():
            db.close()  # back to the pool

    @app.get("/tickets/<int:ticket_id>")
    def ticket(ticket_id):
        found = Ticket.get_or_none(
            (Ticket.id == ticket_id) & (Ticket.institution == g.person.institution_id)
        )
        if found is None:
            abort(404)
        events = TicketEvent.select().where(TicketEvent.ticket == found.id)
        return jsonify(ticket_json(found, events.order_by(TicketEvent.at, TicketEvent.id)))

    @app.get("/tickets")
    def tickets():
        limit = min(max(int(request.args.get("limit") or PAGE_DEFAULT), 1), PAGE_MAX)
        query = Ticket.select().where(Ticket.institution == g.person.institution_id)
        if request.args.get("cursor"):
            moment, last_id = _cursor(request.args["cursor"])
            query = query.where(pw.Tuple(Ticket.updated_at, Ticket.id) > (moment, last_id))
        rows = list(query.order_by(Ticket.updated_at, Ticket.id).limit(limit + 1))
        page, more = rows[:limit], len(rows) > limit
        return jsonify(
            {
                "items": [summary_json(t) for t in page],
                "next_cursor": _encode(page[-1]) if more else None,
            }
        )

    @app.post("/tickets")
    def create():
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400)
        title, fields = data.get("title"), data.get("fields") or {}
        if not isinstance(title, str) or not title.strip() or len(title) > 255:
            abort(422)
        if not isinstance(fields, dict):
            abort(422)
        created, events = open_ticket(g.person, str(data.get("type", "")), title.strip(), fields)
        response = jsonify(ticket_json(created, events))
        response.status_code = 201
        return response

    return app


# ---------------------------------------------------------------- its data


TEMPLATES = 300
INSTITUTIONS = 302  # the caller's, a second one with a queue of its own, 300 more
YEARS = 2


def _log(message: str) -> None:
    print(f"[ref {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _people_and_lookups() -> list[Person]:
    """Institutions with their queues, types, people of the first two, the caller's token."""
    Institution.insert_many(
        [{"name": f"Institución {i}", "sigla": f"I{i:03d}"} for i in range(1, INSTITUTIONS + 1)]
    ).execute()
    Queue.insert_many(
        [{"institution": i, "level": 1} for i in range(1, INSTITUTIONS + 1)]
    ).execute()
    Queue.create(institution=INSTITUTIONS, level=2)  # the last one plays SGE
    for slug, level, state in (("soporte", 1, "nuevo"), ("escalamiento-sge", 2, "recibido")):
        ticket_type = TicketType.create(slug=slug, queue_level=level, initial_state=state)
        TicketTypeVersion.create(type=ticket_type)
    people = [
        Person.create(full_name=f"Persona {i}", email=f"p{i}@i{inst}.ec", institution=inst)
        for inst, count in ((1, 24), (2, 6))
        for i in range(count)
    ]
    ApiToken.create(person=people[0], token_hash=hashlib.sha256(TOKEN.encode()).hexdigest())
    return people


def _templates(rng: random.Random, people: list[Person]) -> int:
    """Tickets opened through `open_ticket`, then worked: comments and state changes, each
    a history row in its own transaction, as Mesa records them."""
    for i in range(TEMPLATES):
        person = rng.choice(people)  # four in five of the caller's institution
        slug = "escalamiento-sge" if rng.random() < 0.2 else "soporte"
        fields = {"categoria": "incidente", "modulo": "reportes", "descripcion": "No carga. " * 6}
        open_ticket(person, slug, f"Ticket de referencia {i}", fields)
    for ticket in Ticket.select().order_by(Ticket.id):
        roll = rng.random()
        if roll < 0.15:
            continue
        steps = [("en_atencion", "open")] + [(None, None)] * rng.randrange(0, 7)  # comments
        if roll < 0.25:
            steps.append(("esperando_sge", "waiting"))
        elif roll > 0.35:
            steps.append(("resuelto", "done"))
        for state, category in steps:
            with db.atomic():
                moment = now()
                if state is None:
                    TicketEvent.create(
                        ticket=ticket.id,
                        actor=ticket.requester_id,
                        kind="comment",
                        data={"body": "Adjunto más detalles del problema."},
                    )
                    Ticket.update(updated_at=moment, version=Ticket.version + 1).where(
                        Ticket.id == ticket.id
                    ).execute()
                    continue
                TicketEvent.create(
                    ticket=ticket.id,
                    actor=ticket.requester_id,
                    kind="transition",
                    data={"from": ticket.state, "to": state},
                )
                Ticket.update(
                    state=state,
                    state_category=category,
                    updated_at=moment,
                    closed_at=moment if category == "done" else None,
                    version=Ticket.version + 1,
                ).where(Ticket.id == ticket.id).execute()
            ticket.state = state
    return Ticket.select().count()


def _copy(cursor, n: int, templates: int) -> int:
    """Copies of the templates and their history, spread over YEARS before the build."""
    needed = n - templates
    if needed <= 0:
        return 0
    copies = math.ceil(needed / templates)
    cursor.execute("SELECT MIN(created_at), MAX(updated_at) + interval '1 second' FROM ticket")
    t0, t1 = cursor.fetchone()
    total = dt.timedelta(days=365 * YEARS)
    slice_ = total / copies
    cursor.execute(
        "CREATE TEMP TABLE ref_params AS SELECT %s::timestamp AS t0, %s::timestamp AS start,"
        " %s::interval AS slice, %s::float8 AS scale",
        (t0, t0 - total, slice_, slice_ / (t1 - t0) * 0.98),
    )
    cursor.execute(
        "CREATE TEMP TABLE ref_copy AS SELECT %s + g + 1 AS new_id, g / %s AS copy,"
        " (g %% %s) + 1 AS template_id FROM generate_series(0, %s - 1) g",
        (templates, templates, templates, needed),
    )
    cursor.execute("ALTER TABLE ref_copy ADD PRIMARY KEY (new_id)")
    cursor.execute("ANALYZE ref_copy")

    def shift(column):
        return f"date_trunc('second', p.start + c.copy * p.slice + ({column} - p.t0) * p.scale)"

    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename IN ('ticket', 'ticket_event')"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("ANALYZE ticket, ticket_event")
    cursor.execute("SET enable_nestloop = off")
    cursor.execute("SET session_replication_role = replica")  # copies of valid rows
    cursor.execute(
        "INSERT INTO ticket (id, type_id, type_version_id, title, fields, checklist, state,"
        " state_category, queue_id, queue_level, institution_id, requester_id, assignee_id,"
        " parent_id, waiting_on_id, due_at, reminded, created_at, updated_at, closed_at, version)"
        " SELECT c.new_id, t.type_id, t.type_version_id, t.title, t.fields, t.checklist, t.state,"
        " t.state_category, t.queue_id, t.queue_level, t.institution_id, t.requester_id,"
        f" t.assignee_id, NULL, NULL, t.due_at, t.reminded, {shift('t.created_at')},"
        f" {shift('t.updated_at')}, {shift('t.closed_at')}, t.version"
        " FROM ref_copy c JOIN ticket t ON t.id = c.template_id CROSS JOIN ref_params p"
    )
    cursor.execute(
        "INSERT INTO ticket_event (ticket_id, actor_id, at, kind, data, public)"
        f" SELECT c.new_id, e.actor_id, {shift('e.at')}, e.kind, e.data, e.public"
        " FROM ref_copy c JOIN ticket_event e ON e.ticket_id = c.template_id"
        " CROSS JOIN ref_params p"
    )
    cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("SET enable_nestloop = on")
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    for table in ("ticket", "ticket_event", "outbox"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" (SELECT GREATEST(MAX(id), 1) FROM {table}))"
        )
    cursor.execute("DROP TABLE ref_copy, ref_params")
    return needed


def build(n: int, url: str, seed: int = 13) -> dict:
    """ref_bench from scratch with `n` tickets; returns what bench_meta records."""
    import psycopg2

    started = time.perf_counter()
    rng = random.Random(seed)
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    app = create_app({"DATABASE_URL": url})
    with app.app_context(), db.connection_context():
        db.create_tables(MODELS)
        people = _people_and_lookups()
        templates = _templates(rng, people)
    with connection.cursor() as cursor:
        copied = _copy(cursor, n, templates)
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
        meta = {"n": n}
        for key, table in (("ticket", "ticket"), ("event", "ticket_event"), ("outbox", "outbox")):
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            meta[f"max_{key}"] = cursor.fetchone()[0]
        cursor.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value bigint NOT NULL)")
        for key, value in meta.items():
            cursor.execute("INSERT INTO bench_meta VALUES (%s, %s)", (key, value))
        cursor.execute(
            "SELECT COUNT(*) FILTER (WHERE institution_id = %s), COUNT(*), COUNT(*)"
            " FILTER (WHERE queue_level = 2) FROM ticket",
            (FOCAL_INSTITUTION,),
        )
        focal, total, second = cursor.fetchone()
    connection.close()
    db.obj.close_all()
    _log(
        f"reference: {total} tickets ({focal} in institution {FOCAL_INSTITUTION}, {second} at"
        f" the second level; {copied} copied with SQL) in {time.perf_counter() - started:.0f} s"
    )
    return meta
