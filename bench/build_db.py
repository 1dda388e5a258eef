"""Build the benchmark databases: Mesa's (mesa_bench) and the reference app's (ref_bench).

Usage::

    .venv/bin/python bench/build_db.py 100000             # both databases, 100,000 tickets
    .venv/bin/python bench/build_db.py 1000000 --only mesa

Mesa's database is made the way the product makes its rows, then multiplied:

1. the schema by the migrations (`ticketing.seeding.upgrade`, what `flask db upgrade`
   runs), SGE and the Quipux process (`seed`), the demo accounts (`load_demo`) with
   PASSWORD, and a few more people of the focal user's institution (MINEJ);
2. a few hundred support tickets opened and worked through `ticketing.services` (opened,
   taken, assigned, commented, escalated to SGE's second level and answered, resolved,
   reopened), most of them in MINEJ's first-level queue; these are the templates;
3. 300 institutions in the rollout, each through the real steps (the AGQ registers the
   oficio and accepts it, which creates the institution, its AIQ and its first step; some
   go on to later steps, one of which carries a due date), then moved back in time a
   random number of days, as the calendar would have done;
4. the templates copied with SQL (INSERT ... SELECT over generate_series) until the table
   holds N tickets: copy c of template t gets the id base + c*T + t, so the links between
   a ticket and its escalation point into the same copy, and every timestamp of copy c
   is moved into its slice of the two years before the build, so ids grow with time.
   Their history (TicketEvent), comments and full-text search documents (SearchDoc, each
   titled with its copy's own reference; PostgreSQL computes the tsvector as each row is
   written) are copied the same way. Secondary indexes (the GIN index among them) are
   dropped for the copy and rebuilt from their own definitions afterwards;
5. sequences moved past the copies, the maintained figures rebuilt
   (`ticketing.stats.rebuild`, when the module exists), VACUUM ANALYZE, CHECKPOINT.

The build's own mail is left pending in the outbox (its dispatcher is switched off, as
if the workers were stopped): rendering it in-process would triple the build's time.

The reference app's database (`bench/reference_app.py`) is built by its own `build`: the
same N, the same share in one institution, the same SQL replication.

Each database gets a `bench_meta` table (the N it was built for, the highest ticket,
event, comment and outbox ids at the end) so `bench/drive.py` can reuse it and remove
what a benchmark run created. Everything in both databases is DROPPED first.
"""

import argparse
import datetime as dt
import math
import os
import random
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MESA_URL = "postgresql://postgres@127.0.0.1:5432/mesa_bench"
REF_URL = "postgresql://postgres@127.0.0.1:5432/ref_bench"
PASSWORD = "bench password 123"  # of every demo account in the bench database
SECRET_KEY = "mesa-bench-secret-key"
FOCAL_EMAIL = "focal@minej.gob.ec"
AGQ_EMAIL = "agq@sge.gob.ec"
YEARS = 2  # the copies are spread over this many years before the build
MINEJ_TEMPLATES = 240  # support tickets of the focal user's institution, before copying
SEPRU_TEMPLATES = 30
DIRECT_ESCALATIONS = {"MINEJ": 12, "SEPRU": 4}
ROLLOUT_INSTITUTIONS = 300
PENDING_OFICIOS = 10
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MODULES = ["bandeja_entrada", "bandeja_salida", "administracion", "firma_electronica", "reportes"]


def tables() -> dict[str, str]:
    """Mesa's table names, from its models (the SQL below must follow a rename)."""
    from ticketing.models import (
        Comment,
        Institution,
        Outbox,
        SearchDoc,
        StageChange,
        Ticket,
        TicketEvent,
    )

    models = {
        "ticket": Ticket,
        "event": TicketEvent,
        "comment": Comment,
        "institution": Institution,
        "stage_change": StageChange,
        "outbox": Outbox,
        "search_doc": SearchDoc,
    }
    return {key: model._meta.table_name for key, model in models.items()}


def log(message: str) -> None:
    print(f"[build {time.strftime('%H:%M:%S')}] {message}", flush=True)


def raw_connection(url: str):
    """A plain psycopg2 connection in autocommit mode (schema resets, bulk SQL)."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    return connection


def reset_schema(url: str) -> None:
    """Drop everything in the database: it is a scratch database."""
    with raw_connection(url) as connection, connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.close()


def write_meta(cursor, n: int) -> dict:
    """Record what was built, and the highest ids, in `bench_meta`."""
    meta = {"n": n}
    for key, table in tables().items():
        if key not in ("ticket", "event", "comment", "outbox"):
            continue
        cursor.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_name = %s",
            (table,),
        )
        if cursor.fetchone():
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            meta[f"max_{key}"] = cursor.fetchone()[0]
    cursor.execute("DROP TABLE IF EXISTS bench_meta")
    cursor.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value bigint NOT NULL)")
    for key, value in meta.items():
        cursor.execute("INSERT INTO bench_meta VALUES (%s, %s)", (key, value))
    return meta


def read_meta(url: str) -> dict:
    """What `write_meta` recorded, or {} for a database never built."""
    try:
        connection = raw_connection(url)
    except psycopg2.OperationalError:
        return {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('public.bench_meta')")
            if cursor.fetchone()[0] is None:
                return {}
            cursor.execute("SELECT key, value FROM bench_meta")
            return dict(cursor.fetchall())
    finally:
        connection.close()


# ---------------------------------------------------------------- Mesa: the app and people


def mesa_app(url: str, **overrides):
    """Mesa's app on `url`, delivering mail in-process (kept and logged, no SMTP)."""
    from ticketing.app import create_app

    config = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": None,
        "MAIL_SERVER": None,
        "SEED_DEMO": False,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_URL": "http://mesa.bench",
    }
    config.update(overrides)
    return create_app(config)


def _valid_numbers():
    """Endless valid cédulas and RUCs nobody in the demo file uses."""
    from stdnum.ec import ci, ruc

    cedulas = (c for c in (f"02{n:08d}" for n in range(10**6, 10**8)) if ci.is_valid(c))
    rucs = (r for r in (f"1768{n:05d}0001" for n in range(100, 99999)) if ruc.is_valid(r))
    return cedulas, rucs


def _people(cedulas) -> dict:
    """The demo accounts, plus more internal and focal people in MINEJ and SEPRU."""
    from ticketing import services
    from ticketing.models import Institution, User
    from ticketing.seeding import load_demo

    load_demo(password=PASSWORD)
    people = {u.email: u for u in User.select()}
    staff = {"MINEJ": {"interno": [], "focal": [], "aiq": []}, "SEPRU": {}}
    staff["SEPRU"] = {"interno": [], "focal": [], "aiq": []}
    for sigla, internos, focals in (("MINEJ", 20, 2), ("SEPRU", 5, 0)):
        institution = Institution.get(Institution.sigla == sigla)
        for role, count in (("interno", internos), ("focal", focals)):
            for i in range(count):
                services.create_user(
                    services.SYSTEM,
                    full_name=f"{role.capitalize()} {i + 1} {sigla}",
                    cedula=next(cedulas),
                    email=f"{role}{i + 1}@{sigla.lower()}.gob.ec",
                    role=role,
                    institution_id=institution.id,
                    invite=False,
                )
        for person in User.select().where(User.institution == institution.id):
            staff[sigla][person.role].append(person)
    staff["agq"] = people[AGQ_EMAIL]
    return staff


# ---------------------------------------------------------------- Mesa: support templates


def _open_support(rng, staff, sigla, i) -> tuple:
    """One support ticket of `sigla`, opened by one of its people: (id, requester, agent)."""
    from ticketing import services

    people = staff[sigla]
    agents = people["focal"] + people["aiq"]
    requester = rng.choice(people["interno"] * 4 + agents)
    ticket = services.open_ticket(
        requester,
        "soporte",
        f"{rng.choice(['No puedo', 'Error al', 'Consulta sobre', 'Falla en'])} "
        f"{rng.choice(['firmar el documento', 'reasignar', 'imprimir', 'ver la bandeja'])} ({i})",
        {
            "categoria": rng.choice(["incidente", "consulta", "requerimiento"]),
            "modulo": rng.choice(MODULES),
            "descripcion": "Al intentar la operación aparece un mensaje de error. " * 3,
        },
    )
    return ticket.id, requester, rng.choice(agents)


def _work_support(rng, ticket_id, requester, agent, escalations: list) -> None:
    """Take a support ticket to one of the ends tickets usually reach."""
    from ticketing import services

    roll = rng.random()
    if roll < 0.10:
        return  # new, nobody has it yet
    if roll < 0.20:
        services.assign(agent, ticket_id, agent.id)
        return
    if rng.random() < 0.4:
        services.add_comment(requester, ticket_id, "Adjunto más detalles del problema.")
    services.transition(agent, ticket_id, "atender")
    if rng.random() < 0.5:
        services.assign(agent, ticket_id, agent.id)
    if roll < 0.32:
        return  # in progress
    if roll < 0.45:
        services.add_comment(agent, ticket_id, "Revisando con SGE.", internal=True)
        services.transition(agent, ticket_id, "escalar", comment="Requiere segundo nivel.")
        escalations.append(ticket_id)
        return
    services.transition(agent, ticket_id, "resolver", comment="Se corrigió la configuración.")
    if roll > 0.95:
        services.transition(requester, ticket_id, "reabrir", comment="Sigue fallando.")


def _work_escalations(rng, staff, parents):
    """SGE's answers: some escalations analysed, some resolved (which resolves the parent)."""
    from ticketing import services
    from ticketing.models import Ticket

    agq = staff["agq"]
    for parent_id in parents:
        child = Ticket.get(Ticket.id == Ticket.get_by_id(parent_id).waiting_on_id)
        roll = rng.random()
        if roll < 0.3:
            continue
        services.transition(agq, child.id, "analizar")
        if roll < 0.5:
            continue
        services.add_comment(agq, child.id, "Se aplicó la corrección en el servidor.")
        services.transition(agq, child.id, "resolver", comment="Corregido en producción.")


def _direct_escalation(rng, staff, sigla, i) -> int:
    """An escalation a focal user opens straight in SGE's queue."""
    from ticketing import services

    ticket = services.open_ticket(
        staff[sigla]["focal"][0],
        "escalamiento-sge",
        f"Escalamiento directo {sigla} {i}",
        {"modulo": rng.choice(MODULES), "descripcion": "El reporte no carga desde ayer."},
    )
    return ticket.id


def open_support_templates(rng, staff) -> int:
    """The templates of every copy; returns how many tickets they are (escalations included).

    All are opened first and worked afterwards, so a ticket's history spans some seconds,
    which the copies stretch into hours and days.
    """
    from ticketing import services
    from ticketing.models import Ticket

    opened = [_open_support(rng, staff, "MINEJ", i) for i in range(MINEJ_TEMPLATES)]
    opened += [_open_support(rng, staff, "SEPRU", i) for i in range(SEPRU_TEMPLATES)]
    direct = [
        _direct_escalation(rng, staff, sigla, i)
        for sigla, count in DIRECT_ESCALATIONS.items()
        for i in range(count)
    ]
    parents: list[int] = []
    for ticket_id, requester, agent in opened:
        _work_support(rng, ticket_id, requester, agent, parents)
    _work_escalations(rng, staff, parents)
    for i, ticket_id in enumerate(direct):
        if i % 3 == 0:
            services.transition(staff["agq"], ticket_id, "analizar")
        if i % 3 == 1:
            services.transition(staff["agq"], ticket_id, "resolver", comment="Resuelto.")
    return Ticket.select().count()


# ---------------------------------------------------------------- Mesa: the rollout


def _oficio(i, number, cedula) -> dict:
    from ticketing.fields import UploadedFile

    return {
        "nombre": f"Institución de Implantación {i:03d}",
        "ruc": number,
        "sigla": f"imp{i:03d}",
        "telefono": "02 399 9333",
        "direccion": "Av. Gran Colombia N11-165, Quito",
        "aiq_nombres": f"AIQ de IMP{i:03d}",
        "aiq_cedula": cedula,
        "aiq_cargo": "Director de Tecnologías de la Información",
        "aiq_correo": f"aiq@imp{i:03d}.gob.ec",
        "aiq_telefono": "02 399 9333 ext. 1204",
        "aiq_celular": "0991234567",
        "oficio_numero": f"IMP{i:03d}-DM-2025-0412-O",
        "oficio_fecha": "2025-03-14",
        "oficio_pdf": UploadedFile(f"oficio-{i:03d}.pdf", "application/pdf", PDF),
    }


def _next_step(ticket_id: int, slug: str):
    from ticketing.models import Ticket, TicketType

    return (
        Ticket.select()
        .join(TicketType)
        .where((Ticket.parent == ticket_id) & (TicketType.slug == slug))
        .get()
    )


def _tick_all_and_complete(actor, ticket) -> None:
    from ticketing import services
    from ticketing.services import definition

    for item in definition(ticket)["checklist"]:
        services.set_checklist_item(actor, ticket.id, item["key"], True)
    services.transition(actor, ticket.id, "completar")


def open_rollout(rng, staff, cedulas, rucs) -> list[int]:
    """300 institutions through the rollout's first steps; returns their ids."""
    from ticketing import services
    from ticketing.models import Institution, User

    agq = staff["agq"]
    institutions = []
    for i in range(ROLLOUT_INSTITUTIONS + PENDING_OFICIOS):
        oficio = services.open_ticket(
            agq, "solicitud-uso", f"Oficio IMP{i:03d}", _oficio(i, next(rucs), next(cedulas))
        )
        if i >= ROLLOUT_INSTITUTIONS:
            continue  # oficios not yet accepted: pipeline rows of their own
        services.transition(agq, oficio.id, "aceptar")
        institution = Institution.get(Institution.sigla == f"IMP{i:03d}")
        institutions.append(institution.id)
        aiq = User.get(User.email == f"aiq@imp{i:03d}.gob.ec")
        step = i % 6
        if step >= 2:  # AIQ trained: the training environment is being set up
            _tick_all_and_complete(agq, _next_step(oficio.id, "capacitacion-aiq"))
        if step >= 4:  # environment ready: the AIQ's 15 days run (a due date)
            training = _next_step(oficio.id, "capacitacion-aiq")
            _tick_all_and_complete(agq, _next_step(training.id, "ambiente-capacitacion"))
        if step == 5:  # the AIQ asks for production while still parametrizing
            services.open_ticket(aiq, "paso-produccion", "Paso a producción", {"resumen": "Listo."})
        if rng.random() < 0.2:
            services.add_comment(agq, oficio.id, "Oficio revisado.")
    return institutions


def age_rollout(cursor, rng, institutions: list[int], first_ticket: int) -> None:
    """Move each rollout institution, its tickets and their history 0-200 days back.

    An accepted oficio is SGE's ticket: it moves with the institution it created. An
    oficio not yet accepted moves back up to 60 days.
    """
    cursor.execute("CREATE TEMP TABLE bench_age (institution int PRIMARY KEY, days int)")
    cursor.executemany(
        "INSERT INTO bench_age VALUES (%s, %s)", [(i, rng.randrange(0, 200)) for i in institutions]
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_ticket_age AS"
        " SELECT t.id, a.days FROM ticket t JOIN bench_age a ON a.institution = t.institution_id"
        " WHERE t.id >= %(first)s"
        " UNION SELECT o.id, a.days FROM ticket o JOIN ticket c ON c.parent_id = o.id"
        " JOIN bench_age a ON a.institution = c.institution_id"
        " WHERE o.id >= %(first)s AND o.institution_id <> c.institution_id",
        {"first": first_ticket},
    )
    cursor.execute(
        "INSERT INTO bench_ticket_age SELECT t.id, (random() * 60)::int FROM ticket t"
        " WHERE t.id >= %s AND t.id NOT IN (SELECT id FROM bench_ticket_age)",
        (first_ticket,),
    )
    back = "make_interval(days => a.days)"
    cursor.execute(
        f"UPDATE ticket t SET created_at = t.created_at - {back},"
        f" updated_at = t.updated_at - {back}, closed_at = t.closed_at - {back},"
        f" due_at = t.due_at - {back} FROM bench_ticket_age a WHERE a.id = t.id"
    )
    names = tables()
    for table, column in ((names["event"], "at"), (names["comment"], "created_at")):
        cursor.execute(
            f"UPDATE {table} e SET {column} = e.{column} - {back} FROM bench_ticket_age a"
            " WHERE e.ticket_id = a.id"
        )
    cursor.execute(
        f"UPDATE {names['institution']} i SET stage_since = i.stage_since - {back} FROM bench_age a"
        " WHERE i.id = a.institution"
    )
    cursor.execute(
        f"UPDATE {names['stage_change']} s SET reached_at = s.reached_at - {back} FROM bench_age a"
        " WHERE s.institution_id = a.institution"
    )
    cursor.execute("DROP TABLE bench_age, bench_ticket_age")


# ---------------------------------------------------------------- Mesa: copying with SQL


def _columns(cursor, table: str) -> list[str]:
    """The table's columns, less those PostgreSQL computes (search_doc's tsvector)."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cursor.fetchall()]


def _secondary_indexes(cursor, tables) -> list[tuple[str, str]]:
    """(name, CREATE INDEX ...) of every index that backs no constraint."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(tables),),
    )
    return cursor.fetchall()


def _shift(column: str) -> str:
    """SQL moving a template timestamp into copy c's slice of time (see bench_params)."""
    # whole seconds, as Mesa's `now()` stores them
    return f"date_trunc('second', p.start + c.copy * p.slice + ({column} - p.t0) * p.scale)"


def replicate(cursor, n: int, templates: int) -> int:
    """Copy ticket templates 1..`templates` (with history and comments) until `n` tickets."""
    cursor.execute("SELECT COUNT(*), MAX(id) FROM ticket")
    have, base = cursor.fetchone()
    needed = n - have
    if needed <= 0:
        return 0
    copies = math.ceil(needed / templates)
    # the templates' own timeline, t0 .. t1, is stretched over each copy's slice of time
    cursor.execute(
        "CREATE TEMP TABLE bench_template AS SELECT id, (row_number() OVER (ORDER BY id)) - 1"
        " AS idx FROM ticket ORDER BY id LIMIT %s",
        (templates,),
    )
    cursor.execute("ALTER TABLE bench_template ADD PRIMARY KEY (id)")
    cursor.execute(
        "SELECT MIN(created_at), GREATEST(MAX(updated_at), MAX(created_at) + interval '1 second')"
        " FROM ticket WHERE id IN (SELECT id FROM bench_template)"
    )
    t0, t1 = cursor.fetchone()
    total = dt.timedelta(days=365 * YEARS)
    slice_ = total / copies
    cursor.execute(
        "CREATE TEMP TABLE bench_params AS SELECT %s::timestamp AS t0, %s::timestamp AS start,"
        " %s::interval AS slice, %s::float8 AS scale",
        (t0, t0 - total, slice_, slice_ / (t1 - t0) * 0.98),
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_copy AS SELECT %s + g + 1 AS new_id, g / %s AS copy,"
        " t.id AS template_id FROM generate_series(0, %s - 1) g"
        " JOIN bench_template t ON t.idx = g %% %s",
        (base, templates, needed, templates),
    )
    cursor.execute("ALTER TABLE bench_copy ADD PRIMARY KEY (new_id)")
    cursor.execute("CREATE INDEX ON bench_copy (template_id)")
    cursor.execute("ANALYZE bench_copy")
    last = base + needed

    def linked(column):
        # the same template's partner in the same copy; none past the last copy made
        return (
            f"(SELECT CASE WHEN {base} + c.copy * {templates} + l.idx + 1 <= {last}"
            f" THEN {base} + c.copy * {templates} + l.idx + 1 END"
            f" FROM bench_template l WHERE l.id = t.{column})"
        )

    special = {
        "id": "c.new_id",
        "created_at": _shift("t.created_at"),
        "updated_at": _shift("t.updated_at"),
        "closed_at": _shift("t.closed_at"),
        "due_at": f"{_shift('t.created_at')} + (t.due_at - t.created_at)",
        "parent_id": linked("parent_id"),
        "waiting_on_id": linked("waiting_on_id"),
    }
    names = tables()
    copied = (names["ticket"], names["event"], names["comment"], names["search_doc"])
    indexes = _secondary_indexes(cursor, copied)
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(f"ANALYZE {', '.join(copied)}")
    # a nested loop over the templates' rows per copy is the planner's other idea
    cursor.execute("SET enable_nestloop = off")
    # every row copied is a copy of a valid row, its links mapped into the same copy
    cursor.execute("SET session_replication_role = replica")
    columns = _columns(cursor, "ticket")
    values = ", ".join(special.get(col, f"t.{col}") for col in columns)
    cursor.execute(
        f"INSERT INTO ticket ({', '.join(columns)}) SELECT {values}"
        " FROM bench_copy c JOIN ticket t ON t.id = c.template_id CROSS JOIN bench_params p"
    )
    log("  tickets inserted")
    # a ticket's search documents as `ticketing.search.index_ticket` would write them for
    # the copy: the same words, its own reference (the public title starts "MESA-<id> ")
    reference = (
        "CASE WHEN e.title LIKE 'MESA-' || e.ticket_id || ' %'"
        " THEN 'MESA-' || c.new_id || substr(e.title, length('MESA-' || e.ticket_id) + 1)"
        " ELSE e.title END"
    )
    for table, time_column, more in (
        (names["event"], "at", {}),
        (names["comment"], "created_at", {}),
        (names["search_doc"], "updated_at", {"title": reference}),
    ):
        columns = [col for col in _columns(cursor, table) if col != "id"]
        special = {"ticket_id": "c.new_id", time_column: _shift(f"e.{time_column}"), **more}
        values = ", ".join(special.get(col, f"e.{col}") for col in columns)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values}"
            f" FROM bench_copy c JOIN {table} e ON e.ticket_id = c.template_id"
            " CROSS JOIN bench_params p"
        )
        log(f"  {table} inserted")
    cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("SET enable_nestloop = on")
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    log(f"  {len(indexes)} indexes rebuilt")
    for table in copied:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )
    cursor.execute("DROP TABLE bench_copy, bench_template, bench_params")
    return needed


def check_links(cursor) -> None:
    """Every parent and waiting_on of a copy names an existing ticket (FKs were off)."""
    cursor.execute(
        "SELECT COUNT(*) FROM ticket t WHERE (t.parent_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM ticket p WHERE p.id = t.parent_id)) OR (t.waiting_on_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM ticket w WHERE w.id = t.waiting_on_id))"
    )
    broken = cursor.fetchone()[0]
    if broken:
        raise SystemExit(f"{broken} copied tickets link to tickets that do not exist")


def rebuild_figures() -> str:
    """The lead's maintained statistics, recomputed from the tickets (if the module exists)."""
    try:
        from ticketing import stats
    except ImportError:
        return "no ticketing.stats: skipped"
    if not hasattr(stats, "rebuild"):
        return "ticketing.stats has no rebuild(): skipped"
    return f"stats.rebuild() wrote {stats.rebuild()}"


def build_mesa(n: int, url: str = MESA_URL, seed: int = 13) -> dict:
    """Mesa's benchmark database with `n` tickets; returns what `write_meta` recorded."""
    from ticketing.db import db
    from ticketing.models import Institution, Ticket, TicketEvent
    from ticketing.outbox import DISPATCH
    from ticketing.seeding import seed as seed_process
    from ticketing.seeding import upgrade

    started = time.perf_counter()
    rng = random.Random(seed)
    reset_schema(url)
    app = mesa_app(url)
    # the build's mail stays pending in the outbox, as after a commit with the workers
    # stopped: rendering and logging it in-process would triple the build's time
    app.extensions[DISPATCH] = lambda ids, taken_over=(): None
    cedulas, rucs = _valid_numbers()
    with app.app_context():
        db.connect(reuse_if_open=True)
        db.execute_sql("SET synchronous_commit = off")  # this session only: a faster build
        upgrade()
        seed_process()
        staff = _people(cedulas)
        log("schema, process and people ready")
        templates = open_support_templates(rng, staff)
        log(f"{templates} support tickets opened and worked through the services")
        first_rollout = Ticket.select().order_by(Ticket.id.desc()).first().id + 1
        institutions = open_rollout(rng, staff, cedulas, rucs)
        rollout = Ticket.select().where(Ticket.id >= first_rollout).count()
        log(f"{len(institutions)} institutions in the rollout, {rollout} rollout tickets")
        connection = raw_connection(url)
        with connection.cursor() as cursor:
            age_rollout(cursor, rng, institutions, first_rollout)
            copied = replicate(cursor, n, templates)
            check_links(cursor)
            log(f"{copied} tickets copied with SQL")
        log(rebuild_figures())
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            meta = write_meta(cursor, n)
            cursor.execute("CHECKPOINT")  # write the new pages out now, not during a benchmark
        connection.close()
        minej = Institution.get(Institution.sigla == "MINEJ")
        total = Ticket.select().count()
        focal_queue = (
            Ticket.select()
            .where((Ticket.institution == minej.id) & (Ticket.queue_level == 1))
            .count()
        )
        second = Ticket.select().where(Ticket.queue_level == 2).count()
        events = TicketEvent.select().count()
        db.close()
    log(
        f"Mesa: {total} tickets ({focal_queue} in MINEJ's first-level queue, {second} in SGE's"
        f" queue), {events} history rows, in {time.perf_counter() - started:.0f} s"
    )
    return meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="tickets in each database")
    parser.add_argument("--mesa-url", default=os.environ.get("MESA_BENCH_URL", MESA_URL))
    parser.add_argument("--ref-url", default=os.environ.get("REF_BENCH_URL", REF_URL))
    parser.add_argument("--only", choices=["mesa", "ref"], help="build one database only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.only in (None, "mesa"):
        build_mesa(args.n, args.mesa_url)
    if args.only in (None, "ref"):
        import reference_app

        reference_app.build(args.n, args.ref_url)
    log(f"built in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
