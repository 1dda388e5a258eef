"""Benchmark the list pages: queries per request and milliseconds at growing ticket counts.

Usage::

    .venv/bin/python bench/list_pages.py                 # 200, 2000, 20000 tickets on SQLite
    .venv/bin/python bench/list_pages.py 500 5000 -r 3   # other sizes, 3 timed runs per page
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesa_bench \\
        .venv/bin/python bench/list_pages.py             # also on PostgreSQL

Each size gets a fresh database (a temporary SQLite file; on PostgreSQL the Mesa tables
of BENCH_DATABASE_URL are DROPPED and recreated, so point it at a scratch database). The
tickets are bulk-inserted copies of tickets opened through the services, spread over 26
weeks, ten institutions, both queue levels and every state category. Each page is
requested once to warm up and then `--repeat` times with the Flask test client; the
median is printed. Finally the plan of the queue list query (and of the other statements
of the pages) is printed with EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (PostgreSQL), with a
note of which `Ticket.Meta.indexes` entry it uses. Figures only: nothing here is asserted.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import peewee

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ticketing.app import create_app  # noqa: E402
from ticketing.db import count_queries, db  # noqa: E402
from ticketing.models import MODELS, Ticket, now  # noqa: E402

PASSWORD = "bench password 123"
PAGES = [
    # (label, account, url)
    ("cola (focal)", "focal", "/cola/"),
    ("cola todos (focal)", "focal", "/cola/?view=all"),
    ("cola SGE (agq)", "agq", "/cola/"),
    ("mis tickets (interno)", "interno", "/mis-tickets/"),
    ("export csv (focal)", "focal", "/cola/export/csv/"),
    ("tablero (focal)", "focal", "/tablero/"),
    ("tablero (agq)", "agq", "/tablero/"),
]
EXTRA_INSTITUTIONS = 8


# ---------------------------------------------------------------- building the data


def _make_app(url: str):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "WTF_CSRF_ENABLED": False,
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "SEED_DEMO": False,
        }
    )
    db.connect(reuse_if_open=True)
    db.drop_tables(MODELS, cascade=url.startswith("postgres"), safe=True)
    db.create_tables(MODELS)
    return app


def _people():
    """Two institutions through the services (valid RUC and cédulas), eight more directly."""
    from werkzeug.security import generate_password_hash

    from ticketing import services
    from ticketing.models import FIRST_LEVEL, Institution, Queue, User

    a = services.create_institution(
        name="Institución A", ruc="1760000230001", sigla="INSTA", stage="produccion"
    )
    b = services.create_institution(
        name="Institución B", ruc="0960000140001", sigla="INSTB", stage="capacitacion"
    )
    sge = Institution.get(Institution.is_sge == True)
    accounts = {}
    for key, role, institution, cedula in [
        ("agq", "agq", sge, "1710000017"),
        ("aiq", "aiq", a, "1710000025"),
        ("focal", "focal", a, "1710000033"),
        ("interno", "interno", a, "1710000041"),
        ("focal_b", "focal", b, "1710000066"),
        ("interno_b", "interno", b, "1710000074"),
    ]:
        accounts[key] = services.create_user(
            services.SYSTEM,
            full_name=f"{key.upper()} {institution.sigla}",
            cedula=cedula,
            email=f"{key}@{institution.sigla.lower()}.ec",
            role=role,
            institution_id=institution.id,
            invite=False,
        )
    User.update(password_hash=generate_password_hash(PASSWORD)).execute()
    others = []
    stages = ["solicitud", "capacitacion", "ambiente_capacitacion", "paso_produccion"]
    for i in range(EXTRA_INSTITUTIONS):
        inst = Institution.create(
            name=f"Institución {i}", ruc=f"99{i:011d}", sigla=f"INS{i}", stage=stages[i % 4]
        )
        Queue.create(institution=inst, level=FIRST_LEVEL, name=f"Mesa de ayuda INS{i}")
        requester = User.create(
            full_name=f"Interno INS{i}",
            cedula=f"99{i:08d}",
            email=f"interno@ins{i}.ec",
            role="interno",
            institution=inst,
        )
        others.append((inst, requester))
    return a, b, accounts, others


def _templates(accounts):
    """One first-level and one second-level ticket opened through the services."""
    from ticketing import services

    support = services.open_ticket(
        accounts["interno"],
        "soporte",
        "Plantilla",
        {"categoria": "incidente", "modulo": "bandeja_entrada", "descripcion": "No firma."},
    )
    escalation = services.open_ticket(
        accounts["focal"],
        "escalamiento-sge",
        "Plantilla SGE",
        {"modulo": "reportes", "descripcion": "El reporte no carga."},
    )
    return support, escalation


def build(n: int, url: str, seed: int = 6) -> dict:
    """A fresh database at `url` with about `n` tickets; returns the app and the accounts."""
    from ticketing import services
    from ticketing.models import FIRST_LEVEL
    from ticketing.seeding import seed as seed_process

    app = _make_app(url)
    rng = random.Random(seed)
    with app.app_context():
        seed_process()
        a, b, accounts, others = _people()
        support, escalation = _templates(accounts)
        first_queues = {
            inst.id: services.queue_for(inst.id, FIRST_LEVEL).id
            for inst in [a, b] + [inst for inst, _r in others]
        }
        second_queue = escalation.queue_id
        requesters = {a.id: [accounts["interno"], accounts["focal"]], b.id: [accounts["interno_b"]]}
        for inst, requester in others:
            requesters[inst.id] = [requester]
        institutions = [a.id] * 4 + [b.id] * 2 + [inst.id for inst, _r in others[:4]]
        moment = now()
        rows = []
        for i in range(max(n - 2, 0)):
            institution = institutions[i % len(institutions)]
            created = moment - dt.timedelta(minutes=rng.randrange(26 * 7 * 24 * 60))
            second = rng.random() < 0.2
            template = escalation if second else support
            roll = rng.random()
            if roll < 0.7:
                state, category = "resuelto", "done"
                closed = min(created + dt.timedelta(hours=rng.randrange(1, 24 * 30)), moment)
            elif roll < 0.75 and not second:
                state, category, closed = "esperando_sge", "waiting", None
            else:
                state = (
                    ("recibido", "en_analisis")[i % 2]
                    if second
                    else ("nuevo", "en_atencion")[i % 2]
                )
                category, closed = "open", None
            due = created + dt.timedelta(days=15) if rng.random() < 0.5 else None
            rows.append(
                {
                    Ticket.type: template.type_id,
                    Ticket.type_version: template.type_version_id,
                    Ticket.title: f"Ticket {i} de prueba de carga",
                    Ticket.fields: template.fields,
                    Ticket.checklist: {},
                    Ticket.state: state,
                    Ticket.state_category: category,
                    Ticket.queue: second_queue if second else first_queues[institution],
                    Ticket.queue_level: 2 if second else 1,
                    Ticket.institution: institution,
                    Ticket.requester: rng.choice(requesters[institution]).id,
                    Ticket.assignee: accounts["focal"].id
                    if institution == a.id and rng.random() < 0.5
                    else None,
                    Ticket.due_at: due,
                    Ticket.reminded: [],
                    Ticket.created_at: created,
                    Ticket.updated_at: closed or created,
                    Ticket.closed_at: closed,
                }
            )
        for start in range(0, len(rows), 500):
            with db.atomic():
                Ticket.insert_many(rows[start : start + 500]).execute()
        if url.startswith("postgres"):
            db.execute_sql("ANALYZE")
    return {"app": app, "accounts": accounts}


# ---------------------------------------------------------------- measuring


@contextmanager
def capture_statements():
    """(sql, params) of every statement run inside the block, to EXPLAIN them afterwards."""
    database = db.obj
    captured = []
    original = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        captured.append((sql, params))
        return original(sql, params, *args, **kwargs)

    database.execute_sql = execute_sql
    try:
        yield captured
    finally:
        del database.execute_sql


def _client(app, account):
    client = app.test_client()
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def measure(app, accounts, repeat: int) -> list[dict]:
    """Queries and median milliseconds per page request."""
    results = []
    clients = {}
    for label, who, url in PAGES:
        client = clients.get(who) or clients.setdefault(who, _client(app, accounts[who]))
        client.get(url).get_data()  # warm-up
        timings, counts, size = [], [], 0
        for _ in range(repeat):
            with count_queries() as statements:
                start = time.perf_counter()
                response = client.get(url)
                body = response.get_data()
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(statements))
            size = len(body)
        results.append(
            {
                "page": label,
                "url": url,
                "queries": counts[-1],
                "ms": statistics.median(timings),
                "kb": size / 1024,
            }
        )
    return results


def explain(app, accounts, url: str, who: str) -> list[tuple[str, list[str]]]:
    """The plan of every SELECT a page request runs."""
    client = _client(app, accounts[who])
    client.get(url).get_data()
    with capture_statements() as statements:
        client.get(url).get_data()
    postgres = isinstance(db.obj, peewee.PostgresqlDatabase)
    plans = []
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        if '"ticket"' not in sql and "GROUP BY" not in sql:
            continue  # the signed-in user and the navbar's institution, by primary key
        prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        cursor = db.execute_sql(prefix + sql, params)
        if postgres:
            lines = [row[0] for row in cursor.fetchall()]
        else:
            lines = [row[-1] for row in cursor.fetchall()]
        plans.append((sql, lines))
    return plans


INDEX_NAMES = {
    "ticket_queue_level_state_category_updated_at": "(queue_level, state_category, updated_at)",
    "ticket_institution_id_state_category_updated_at": "(institution, state_category, updated_at)",
    "ticket_requester_id_updated_at": "(requester, updated_at)",
}


def _index_note(lines: list[str]) -> str:
    """Which of Ticket.Meta.indexes a plan uses, and whether it sorts or scans."""
    text = "\n".join(lines)
    used = [label for name, label in INDEX_NAMES.items() if name in text]
    others = sorted(
        {
            word.strip('"(),')
            for word in text.split()
            if word.strip('"(),').startswith("ticket_")
            and not word.strip('"(),').startswith(("ticket_type", "ticket_event"))
            and word.strip('"(),') not in INDEX_NAMES
        }
    )
    note = f"Meta.indexes used: {', '.join(used) or 'none'}"
    if others:
        note += f"; other ticket indexes: {', '.join(others)}"
    if "TEMP B-TREE" in text.upper() or "Sort" in text.split():
        note += "; sorts in a temporary structure"
    full_scan = any(
        (line.strip().startswith("SCAN t1") and "INDEX" not in line)
        or "Seq Scan on ticket " in line
        for line in lines
    )
    if full_scan:
        note += "; scans the whole table"
    return note


def _abridged(sql: str) -> str:
    """The head of a statement and its WHERE ... tail, which is what the plan depends on."""
    where = sql.find(" WHERE ")
    if where < 0 or where < 80:
        return sql[:300]
    return f"{sql[:60]} ... {sql[where:][:300]}"


def report(kind: str, n: int, results: list[dict]) -> None:
    visible = Ticket.select().count()
    print(f"\n== {kind}, {n} tickets ({visible} in the table)")
    print(f"{'page':<26}{'queries':>8}{'ms (median)':>13}{'KiB':>9}")
    for row in results:
        print(f"{row['page']:<26}{row['queries']:>8}{row['ms']:>13.1f}{row['kb']:>9.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 2000, 20000])
    parser.add_argument("-r", "--repeat", type=int, default=5, help="timed runs per page")
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="skip the query plans (printed for the largest size)",
    )
    args = parser.parse_args(argv)
    targets = []
    with tempfile.TemporaryDirectory(prefix="mesa-bench-") as tmp:
        targets.append(("SQLite", lambda n: f"sqlite:///{tmp}/bench-{n}.sqlite3"))
        if os.environ.get("BENCH_DATABASE_URL"):
            targets.append(("PostgreSQL", lambda n: os.environ["BENCH_DATABASE_URL"]))
        for kind, url_for_size in targets:
            last = None
            for n in args.sizes:
                start = time.perf_counter()
                world = build(n, url_for_size(n))
                built = time.perf_counter() - start
                # no app context around the requests: each pushes its own, so `g` (and the
                # signed-in user Flask-Login keeps there) is not shared between clients
                results = measure(world["app"], world["accounts"], args.repeat)
                report(kind, n, results)
                print(f"(built in {built:.1f} s)")
                last = world
                if n != args.sizes[-1]:
                    db.close()
            if last is not None and not args.no_explain:
                for who, url in (
                    ("focal", "/cola/"),
                    ("agq", "/cola/"),
                    ("interno", "/mis-tickets/"),
                    ("focal", "/tablero/"),
                    ("agq", "/tablero/"),
                ):
                    print(f"\n-- {kind} plans for {url} as {who} ({args.sizes[-1]} tickets)")
                    for sql, lines in explain(last["app"], last["accounts"], url, who):
                        print(f"   {_abridged(sql)}")
                        for line in lines:
                            print(f"      {line}")
                        print(f"   => {_index_note(lines)}")
            db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
