"""Benchmark full-text search on the benchmark database: first page p50/p99, statements.

Usage::

    .venv/bin/python bench/build_db.py 1000000 --only mesa   # once: mesa_bench, search docs too
    .venv/bin/python bench/search.py                          # ~200 runs per search
    .venv/bin/python bench/search.py -n 50 --budget 20 --explain all

Runs `ticketing.search.search(user, q)` in-process (the first page of 20 tickets, the
capped total, the snippets, the best articles: what the search page and the API's
/search show) on the database `bench/build_db.py` built, as MINEJ's focal user (one
institution: most of the tickets) and as the AGQ (SGE's second-level queue), for:

    rare        a word in a dozen tickets (planted through the services if missing)
    medium      a word in about a quarter of the tickets ("firmar", in their titles)
    common      a word in nearly every support ticket ("error", in each description)
    phrase      a two-word phrase, medium and common

Each search runs `--runs` times (after 3 warm-ups) or until `--budget` seconds have
passed, whichever comes first; the table gives p50, p99 and how many runs those are of,
the statements per search (constant by design), the total shown and the page's rows.
Then EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of the chosen searches.

The planted tickets are ordinary tickets opened through the services (their mail stays
pending); `bench/drive.py` removes them with every other ticket made after the build.
Figures only: nothing here is asserted. Quote them with the load average printed at the
end: other sessions on a 2-core machine move every figure.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from build_db import AGQ_EMAIL, FOCAL_EMAIL, MESA_URL, mesa_app, read_meta  # noqa: E402

RARE = "biométrico"
SEARCHES = [
    # (label, query)
    ("rare", RARE),
    ("medium", "firmar"),
    ("common", "error"),
    ("phrase medium", '"firmar el documento"'),
    ("phrase common", '"mensaje de error"'),
]
PLANTED_SUPPORT, PLANTED_ESCALATIONS = 10, 3


def code_version() -> str:
    """A fingerprint of ticketing/search's sources, so figures name the code they measured."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "ticketing" / "search").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def plant_rare_word(focal, interno) -> int:
    """A dozen tickets carrying RARE (MINEJ's and SGE's), unless a search already finds them."""
    from ticketing import search, services

    if search.search(focal, RARE, articles=0).ticket_total:
        return 0
    for i in range(PLANTED_SUPPORT):
        services.open_ticket(
            interno,
            "soporte",
            f"El lector {RARE} no reconoce la huella ({i})",
            {
                "categoria": "incidente",
                "modulo": "otro",
                "descripcion": "El lector de huellas no responde al firmar.",
            },
        )
    for i in range(PLANTED_ESCALATIONS):
        services.open_ticket(
            focal,
            "escalamiento-sge",
            f"Controlador del lector {RARE} ({i})",
            {"modulo": "otro", "descripcion": "Falta el controlador del lector de huellas."},
        )
    return PLANTED_SUPPORT + PLANTED_ESCALATIONS


@contextmanager
def captured_statements():
    """(sql, params, seconds) of every statement run inside the block."""
    from ticketing.db import db

    database = db.obj
    captured = []
    original = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        started = time.perf_counter()
        cursor = original(sql, params, *args, **kwargs)
        captured.append((sql, params, time.perf_counter() - started))
        return cursor

    database.execute_sql = execute_sql
    try:
        yield captured
    finally:
        del database.execute_sql


def one_search(person, q):
    """The first page as a page shows it: hits, snippets, the joined type and institution."""
    from ticketing import search

    found = search.search(person, q)
    for hit in found.tickets:
        str(hit.snippet), hit.ticket.type.name, hit.ticket.institution.sigla
    for hit in found.articles:
        str(hit.snippet)
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(person, q, runs: int, budget: float) -> dict:
    from ticketing.db import count_queries

    for _ in range(3):
        one_search(person, q)
    with count_queries() as statements:
        found = one_search(person, q)
    times = []
    started = time.perf_counter()
    while len(times) < runs and time.perf_counter() - started < budget:
        t0 = time.perf_counter()
        one_search(person, q)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50": statistics.median(times),
        "p99": percentile(times, 0.99),
        "runs": len(times),
        "statements": len(statements),
        "total": found.total_label,
        "rows": len(found.tickets),
        "articles": len(found.articles),
    }


def explain(person, q) -> tuple[float, str, list[str]]:
    """The main statement of one search, the page's ids by rank (else the slowest):
    (ms, SQL, EXPLAIN ANALYZE lines)."""
    from ticketing.db import db

    with captured_statements() as statements:
        one_search(person, q)
    ranked = [s for s in statements if "ts_rank_cd" in s[0] and "ticket" in s[0]]
    sql, params, seconds = ranked[0] if ranked else max(statements, key=lambda s: s[2])
    cursor = db.execute_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    return seconds * 1000, cursor.mogrify(sql, params).decode(), [row[0] for row in cursor]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MESA_BENCH_URL", MESA_URL))
    parser.add_argument("-n", "--runs", type=int, default=200, help="timed runs per search")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per search, at most")
    parser.add_argument(
        "--explain",
        default="rare,common",
        help="labels whose slowest statement is EXPLAINed (comma-separated, or 'all')",
    )
    args = parser.parse_args(argv)

    from ticketing.db import db
    from ticketing.models import Ticket, User
    from ticketing.outbox import DISPATCH

    meta = read_meta(args.url)
    app = mesa_app(args.url)
    app.extensions[DISPATCH] = lambda ids, taken_over=(): None  # planted tickets' mail waits
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        focal = User.get(User.email == FOCAL_EMAIL)
        agq = User.get(User.email == AGQ_EMAIL)
        interno = User.get(User.email == "interno@minej.gob.ec")
        planted = plant_rare_word(focal, interno)
        tickets = Ticket.select().count()
        print(
            f"database built for {meta.get('n', '?')} tickets; {tickets} now"
            f" ({planted} planted with {RARE!r}); ticketing/search {code_version()}",
            flush=True,
        )
        header = (
            f"{'search':<15} {'as':<6} {'p50 ms':>8} {'p99 ms':>8} {'runs':>5} {'stmts':>5}"
            f" {'total':>6} {'rows':>4} {'arts':>4}"
        )
        print(header)
        print("-" * len(header))
        for label, q in SEARCHES:
            for who, person in (("focal", focal), ("agq", agq)):
                r = measure(person, q, args.runs, args.budget)
                print(
                    f"{label:<15} {who:<6} {r['p50']:8.1f} {r['p99']:8.1f} {r['runs']:5d}"
                    f" {r['statements']:5d} {r['total']:>6} {r['rows']:4d} {r['articles']:4d}",
                    flush=True,
                )
        wanted = (
            {label for label, _ in SEARCHES}
            if args.explain == "all"
            else set(args.explain.split(","))
        )
        for label, q in SEARCHES:
            if label not in wanted:
                continue
            for who, person in (("focal", focal), ("agq", agq)):
                ms, sql, plan = explain(person, q)
                print(f"\n== {label} ({q}) as {who}: main statement, {ms:.1f} ms\n{sql}\n")
                print("\n".join(plan))
        db.close()
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
