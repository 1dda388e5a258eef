"""Side by side: Mesa under gunicorn against the bare Flask + peewee reference, driven by wrk.

Usage::

    .venv/bin/python bench/drive.py                          # 100,000 tickets, 3 x 10 s each
    .venv/bin/python bench/drive.py --sizes 100000 1000000   # and the 1M/100k ratios
    .venv/bin/python bench/drive.py -d 5 -r 1 --ops api-get html-cola

For each size the databases are built (`bench/build_db.py`) or, when `bench_meta` says
they hold that size, reused after removing what earlier runs created. Then Mesa
(`gunicorn -w 2 wsgi:app`, DATABASE_URL=mesa_bench) and the reference app
(`gunicorn -w 2 'reference_app:create_app()'`, ref_bench) are started on free loopback
ports, and every operation is run with `wrk -t1 -c8 -d<secs>` (bench/lua/bench.lua),
Mesa then the reference operation it is compared with, operation after operation,
the whole list `--repetitions` times (A B A B ...). The table shows the median over the
repetitions of req/s and of wrk's p50/p99 latency, the Mesa/reference ratio of req/s (each
repetition's Mesa run divided by the reference run right after it), the target of
issue 13, and statements per request.

Operations (the focal user of MINEJ is the caller unless said otherwise):

    api-get            GET /api/v1/tickets/<id>, a ticket with history and a comment
    api-list-1/21/200  GET /api/v1/tickets?limit=50, page 1, 21 and 200, reached by
                       following next_cursor before the timing starts
    api-create         POST /api/v1/tickets (JSON, a soporte ticket), Bearer token
    html-ticket        /ticket/<id>/ (same ticket), signed in (session cookie)
    html-cola          the Cola's page 41, reached by following its keyset links
    html-tablero       /tablero/
    html-implantacion  /implantacion/ as the AGQ (300 institutions in the rollout)
    html-create        POST /nuevo/soporte/: the new-ticket form, multipart, with a CSRF
                       token fetched once (Flask-WTF's token is per session and reusable)

Each response is checked by the Lua script (2xx, or a 302 to /ticket/ for the form) and
the bad ones are counted in the "bad" column; before the timing, each operation is also
requested once and its body checked (the ticket's reference, 50 items, ...).

Statements per request are counted in this process: each request is made twice with
Flask's test client (the second one counts) inside `ticketing.db.count_queries()` for
Mesa and `reference_app.count_statements()` for the reference. pg_stat_statements is not
loaded on the shared server, and starting it needs a restart.

Mesa runs with REDIS_URL (default redis://127.0.0.1:6379/12, flushed before and after)
and no worker: a request does what it does in production, enqueue its mail; the jobs are
left queued. `--redis-url ''` runs without Redis: mail is then rendered and kept
in-process, inside the request.
"""

import argparse
import html
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import build_db  # noqa: E402
import reference_app  # noqa: E402

USER_AGENT = "mesa-bench/1"  # Flask-Login's strong session protection binds it to the session
LUA = BENCH / "lua" / "bench.lua"
GUNICORN = Path(sys.executable).parent / "gunicorn"
UNIQUE = "BENCHSEQ"  # replaced by a counter in every created ticket's title
PAGE = 50
PAGES = (1, 21, 200)


@dataclass
class Call:
    """One HTTP request, as wrk repeats it and as the test client counts it."""

    path: str
    account: str  # mesa-api | focal | agq | ref
    method: str = "GET"
    body: str | None = None
    content_type: str | None = None
    expect: str = "2xx"  # or "302" (with `location` in the Location header)
    location: str | None = None


@dataclass
class Operation:
    key: str
    label: str
    mesa: Call
    ref: str | None = None  # the reference operation it is compared with
    target: float | None = None  # issue 13: Mesa/reference req/s at least this
    runs: list = field(default_factory=list)  # (mesa result, ref result or None) per rep


def log(message: str) -> None:
    print(f"[drive {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- databases


def close_pools() -> None:
    """Give back this process's connections, so a rebuild can drop the schema."""
    from playhouse.pool import PooledPostgresqlDatabase

    from ticketing.db import db

    for proxy in (db, reference_app.db):
        if isinstance(proxy.obj, PooledPostgresqlDatabase):
            proxy.obj.close_all()


def _execute(url: str, *statements) -> list[int]:
    connection = build_db.raw_connection(url)
    counts = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            counts.append(max(cursor.rowcount, 0))
    connection.close()
    return counts


def trim(url: str, meta: dict, mesa: bool) -> int:
    """Remove what earlier benchmark runs created; returns the tickets removed."""
    outbox, ticket = meta.get("max_outbox", 0), meta["max_ticket"]
    table = build_db.tables()["outbox"] if mesa else "outbox"
    removed = _execute(
        url,
        (f"DELETE FROM {table} WHERE id > %s", (outbox,)),
        ("DELETE FROM ticket WHERE id > %s", (ticket,)),  # history and comments cascade
    )[1]
    if removed:
        _execute(url, ("VACUUM ANALYZE", None))
    return removed


def prepare_databases(size: int, args) -> None:
    """Build both databases for `size`, or reuse them as built."""
    close_pools()
    for name, url, mesa in (("Mesa", args.mesa_url, True), ("reference", args.ref_url, False)):
        meta = build_db.read_meta(url)
        if args.rebuild or meta.get("n") != size:
            log(f"building the {name} database with {size} tickets")
            if mesa:
                build_db.build_mesa(size, url)
            else:
                reference_app.build(size, url)
            continue
        removed = trim(url, meta, mesa)
        log(f"reusing the {name} database of {size} tickets ({removed} created by runs removed)")
        if removed and mesa:
            app = build_db.mesa_app(url)
            from ticketing.db import db

            with app.app_context():
                db.connect(reuse_if_open=True)
                log(build_db.rebuild_figures())
                db.close()
    close_pools()


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mesa_environment(args, port: int) -> dict:
    from ticketing.settings import SETTINGS

    env = dict(os.environ)
    for key in SETTINGS:  # only what is set here reaches Mesa
        env.pop(key, None)
        env.pop(f"MESA_{key}", None)
    env.update(
        DATABASE_URL=args.mesa_url,
        SECRET_KEY=build_db.SECRET_KEY,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    return env


@contextmanager
def servers(args, logs: Path):
    """Mesa and the reference app under gunicorn; yields their base URLs."""
    mesa_port, ref_port = free_port(), free_port()
    commands = [
        (
            "mesa",
            [str(GUNICORN), "-w", str(args.workers), "-b", f"127.0.0.1:{mesa_port}", "wsgi:app"],
            _mesa_environment(args, mesa_port),
            f"http://127.0.0.1:{mesa_port}",
            "/login",
        ),
        (
            "ref",
            [
                str(GUNICORN),
                "-w",
                str(args.workers),
                "-b",
                f"127.0.0.1:{ref_port}",
                "--chdir",
                str(BENCH),
                "reference_app:create_app()",
            ],
            dict(os.environ, REF_DATABASE_URL=args.ref_url),
            f"http://127.0.0.1:{ref_port}",
            "/tickets/1",
        ),
    ]
    processes = []
    try:
        for name, command, env, base, probe in commands:
            output = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
            processes.append((process, output))
            _wait_until_up(base + probe, process, logs / f"{name}.log")
        yield commands[0][3], commands[1][3]
    finally:
        for process, output in processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            output.close()


def _wait_until_up(url: str, process, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: see {log_path}\n{log_path.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise SystemExit(f"server not answering at {url}: see {log_path}")


# ---------------------------------------------------------------- the world of a run


def _one(url: str, sql: str, params=()):
    connection = build_db.raw_connection(url)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    connection.close()
    return row


def pick_tickets(args) -> dict:
    """The ticket both GET operations read: in the middle of the table, with history."""
    names = build_db.tables()
    (minej,) = _one(args.mesa_url, "SELECT id FROM institution WHERE sigla = 'MINEJ'")
    (top,) = _one(args.mesa_url, "SELECT MAX(id) FROM ticket")
    mesa_id, events = _one(
        args.mesa_url,
        f"SELECT t.id, COUNT(e.id) FROM ticket t JOIN {names['event']} e ON e.ticket_id = t.id"
        " WHERE t.institution_id = %s AND t.queue_level = 1 AND t.id BETWEEN %s AND %s"
        " AND EXISTS (SELECT 1 FROM comment c WHERE c.ticket_id = t.id)"
        " GROUP BY t.id ORDER BY COUNT(e.id) DESC, t.id LIMIT 1",
        (minej, top // 2, top // 2 + 2000),
    )
    (ref_top,) = _one(args.ref_url, "SELECT MAX(id) FROM ticket")
    ref_id, ref_events = _one(
        args.ref_url,
        "SELECT t.id, COUNT(e.id) FROM ticket t JOIN ticket_event e ON e.ticket_id = t.id"
        " WHERE t.institution_id = %s AND t.id BETWEEN %s AND %s"
        " GROUP BY t.id ORDER BY ABS(COUNT(e.id) - %s), t.id LIMIT 1",
        (reference_app.FOCAL_INSTITUTION, ref_top // 2, ref_top // 2 + 2000, events),
    )
    return {"mesa": mesa_id, "mesa_events": events, "ref": ref_id, "ref_events": ref_events}


def api_token(app) -> str:
    """A fresh personal API token of the focal user."""
    from ticketing.api_tokens import create_token
    from ticketing.db import db
    from ticketing.models import User
    from ticketing.services import SYSTEM

    with app.app_context():
        db.connect(reuse_if_open=True)
        owner = User.get(User.email == build_db.FOCAL_EMAIL)
        _row, secret = create_token(SYSTEM, owner=owner, name="bench")
        db.close()
    return secret


def signed_in(base: str, email: str) -> requests.Session:
    """A browser session of `email`, signed in through the sign-in form."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    token = _csrf(session.get(f"{base}/login").text)
    response = session.post(
        f"{base}/login",
        data={"email": email, "password": build_db.PASSWORD, "csrf_token": token, "next": ""},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"signing in as {email} answered {response.status_code}")
    return session


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not found:
        raise SystemExit("no CSRF token in the page")
    return found.group(1)


def _cookie(session: requests.Session) -> str:
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def page_paths(base: str, path: str, headers: dict) -> dict[int, str]:
    """The URL of pages 1, 21 and 200 of a list, by following next_cursor."""
    paths, current = {}, f"{path}?limit={PAGE}"
    for page in range(1, max(PAGES) + 1):
        if page in PAGES:
            paths[page] = current
        if page == max(PAGES):
            break
        response = requests.get(base + current, headers=headers, timeout=120)
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if not cursor:
            raise SystemExit(f"{path} has fewer than {max(PAGES)} pages")
        current = f"{path}?limit={PAGE}&cursor={cursor}"
    return paths


def cola_page(base: str, session, page: int) -> str:
    """The Cola URL of page `page`, by following its "Más antiguos" (keyset) links."""
    current = "/cola/"
    for _ in range(page - 1):
        response = session.get(base + current, timeout=120)
        response.raise_for_status()
        found = re.search(r'href="([^"]+)" rel="next"', response.text)
        if not found:
            raise SystemExit(f"the Cola has fewer than {page} pages")
        current = html.unescape(found.group(1))
    return current


def multipart(fields: dict[str, str], files: tuple[str, ...]) -> tuple[str, str]:
    """A browser's multipart/form-data body: the fields, and file inputs left empty."""
    boundary = f"----mesabench{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}'
        )
    for name in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename=""\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
    body = "\r\n".join(parts) + f"\r\n--{boundary}--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def operations(world: dict) -> tuple[list[Operation], dict[str, Call]]:
    """Every Mesa operation with the reference one it is compared with."""
    ticket, ref_ticket = world["tickets"]["mesa"], world["tickets"]["ref"]
    api_body = (
        '{"type": "soporte", "title": "Ticket de carga ' + UNIQUE + '", "fields":'
        ' {"categoria": "incidente", "modulo": "reportes",'
        ' "descripcion": "El reporte mensual no carga desde esta mañana."}}'
    )
    form_body, form_type = multipart(
        {
            "csrf_token": world["csrf"],
            "title": f"Ticket de carga {UNIQUE}",
            "f_categoria": "incidente",
            "f_modulo": "reportes",
            "f_descripcion": "El reporte mensual no carga desde esta mañana.",
        },
        ("f_adjunto",),
    )
    mesa_pages, ref_pages = world["mesa_pages"], world["ref_pages"]
    ops = [
        Operation(
            "api-get",
            "API GET one ticket",
            Call(f"/api/v1/tickets/{ticket}", "mesa-api"),
            "ref-get",
            0.6,
        ),
    ]
    for page in PAGES:
        ops.append(
            Operation(
                f"api-list-{page}",
                f"API list 50, page {page}",
                Call(mesa_pages[page], "mesa-api"),
                f"ref-list-{page}",
                0.6 if page == 21 else None,
            )
        )
    ops += [
        Operation(
            "api-create",
            "API create",
            Call("/api/v1/tickets", "mesa-api", "POST", api_body, "application/json"),
            "ref-create",
            0.6,
        ),
        Operation(
            "html-ticket", "HTML ticket page", Call(f"/ticket/{ticket}/", "focal"), "ref-get", 0.25
        ),
        Operation(
            "html-cola", "HTML Cola page 41", Call(world["cola_41"], "focal"), "ref-list-21", 0.25
        ),
        Operation("html-tablero", "HTML Tablero", Call("/tablero/", "focal")),
        Operation("html-implantacion", "HTML Implantación (AGQ)", Call("/implantacion/", "agq")),
        Operation(
            "html-create",
            "HTML create (form)",
            Call("/nuevo/soporte/", "focal", "POST", form_body, form_type, "302", "/ticket/"),
            "ref-create",
            0.25,
        ),
    ]
    ref = {
        "ref-get": Call(f"/tickets/{ref_ticket}", "ref"),
        "ref-create": Call("/tickets", "ref", "POST", api_body, "application/json"),
    }
    for page in PAGES:
        ref[f"ref-list-{page}"] = Call(ref_pages[page], "ref")
    return ops, ref


def headers_for(call: Call, world: dict) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if call.account == "mesa-api":
        headers["Authorization"] = f"Bearer {world['token']}"
    elif call.account == "ref":
        headers["Authorization"] = f"Bearer {reference_app.TOKEN}"
    else:
        headers["Cookie"] = world["cookies"][call.account]
    if call.content_type:
        headers["Content-Type"] = call.content_type
    return headers


def prepare(mesa_base: str, ref_base: str, args) -> dict:
    """Token, sessions, CSRF token, the ticket to read and the cursor URLs."""
    app = build_db.mesa_app(args.mesa_url, REDIS_URL=args.redis_url or None)
    world = {"app": app, "token": api_token(app), "tickets": pick_tickets(args)}
    focal = signed_in(mesa_base, build_db.FOCAL_EMAIL)
    world["csrf"] = _csrf(focal.get(f"{mesa_base}/nuevo/soporte/").text)
    agq = signed_in(mesa_base, build_db.AGQ_EMAIL)
    world["cookies"] = {"focal": _cookie(focal), "agq": _cookie(agq)}
    world["cola_41"] = cola_page(mesa_base, focal, 41)
    api = {"Authorization": f"Bearer {world['token']}"}
    world["mesa_pages"] = page_paths(mesa_base, "/api/v1/tickets", api)
    ref_api = {"Authorization": f"Bearer {reference_app.TOKEN}"}
    world["ref_pages"] = page_paths(ref_base, "/tickets", ref_api)
    world["ops"], world["ref"] = operations(world)
    return world


# ---------------------------------------------------------------- checks and counts


def _body(call: Call) -> bytes | None:
    if call.body is None:
        return None
    return call.body.replace(UNIQUE, f"check-{uuid.uuid4().hex[:8]}").encode()


def check(base: str, call: Call, world: dict, label: str) -> None:
    """Request once and look at the answer: the right status and the right content."""
    response = requests.request(
        call.method,
        base + call.path,
        headers=headers_for(call, world),
        data=_body(call),
        allow_redirects=False,
        timeout=120,
    )
    status, text = response.status_code, response.text
    ticket = world["tickets"]["mesa"]
    problems = []
    if call.expect == "302":
        if status != 302 or call.location not in response.headers.get("Location", ""):
            problems.append(f"{status} {response.headers.get('Location')}")
    elif not 200 <= status < 300:
        problems.append(f"status {status}")
    elif call.account in ("mesa-api", "ref") and call.method == "GET" and "?" in call.path:
        if len(response.json()["items"]) != PAGE:
            problems.append("not a full page")
    elif call.account in ("mesa-api", "ref"):
        if "id" not in response.json():
            problems.append("no ticket in the answer")
    elif "/logout" not in text:
        problems.append("not signed in")
    elif call.path.startswith("/ticket/") and f"MESA-{ticket}" not in text:
        problems.append("the ticket's reference is missing")
    elif call.path.startswith("/cola/") and "MESA-" not in text:
        problems.append("no tickets listed")
    elif call.path.startswith("/implantacion/") and "IMP" not in text:
        problems.append("no institutions listed")
    if problems:
        raise SystemExit(f"{label}: {base}{call.path} answered badly: {'; '.join(problems)}")


def count_statements(world: dict, args) -> dict[str, int]:
    """Statements per request of every operation, counted in this process."""
    from ticketing.db import count_queries

    app = world["app"]
    app.config["WTF_CSRF_ENABLED"] = False  # the counted form post carries no fresh token
    clients = {"mesa-api": app.test_client()}
    for account, email in (("focal", build_db.FOCAL_EMAIL), ("agq", build_db.AGQ_EMAIL)):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": build_db.PASSWORD})
        if response.status_code != 302:
            raise SystemExit(f"in-process sign-in as {email}: {response.status_code}")
        clients[account] = client
    ref_app = reference_app.create_app({"DATABASE_URL": args.ref_url})
    clients["ref"] = ref_app.test_client()
    counts = {}
    calls = [(op.key, op.mesa) for op in world["ops"]] + list(world["ref"].items())
    for key, call in calls:
        client = clients[call.account]
        headers = {
            k: v for k, v in headers_for(call, world).items() if k not in ("Cookie", "User-Agent")
        }
        counter = reference_app.count_statements if call.account == "ref" else count_queries
        for _attempt in range(2):  # the first one may fill per-process caches
            with counter() as statements:
                response = client.open(
                    call.path, method=call.method, headers=headers, data=_body(call)
                )
            response.get_data()
        if response.status_code not in (200, 201, 302):
            raise SystemExit(f"in-process {key}: {call.path} answered {response.status_code}")
        counts[key] = len(statements)
    app.config["WTF_CSRF_ENABLED"] = True
    return counts


# ---------------------------------------------------------------- wrk


def wrk(base: str, call: Call, world: dict, args, seconds: float) -> dict:
    """One wrk run of `call`: req/s, p50 and p99 in ms, bad answers, socket errors."""
    env = dict(os.environ, BENCH_METHOD=call.method, BENCH_EXPECT=call.expect)
    for name in ("BENCH_BODY", "BENCH_UNIQUE", "BENCH_LOCATION"):
        env.pop(name, None)
    if call.body is not None:
        env.update(BENCH_BODY=call.body, BENCH_UNIQUE=UNIQUE)
    if call.location:
        env["BENCH_LOCATION"] = call.location
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
    ]
    for name, value in headers_for(call, world).items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + call.path)
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    found = re.search(r"^BENCH (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split())}
    first_bad = re.search(r"^BENCH_FIRST_BAD (.*)$", done.stdout, re.M)
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "p50": figures["p50_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "bad": figures["bad"] + figures["socket_errors"],
        "first_bad": first_bad.group(1) if first_bad else "",
        "load": os.getloadavg()[0],
    }


def flush_redis(url: str) -> None:
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


def measure(world: dict, mesa_base: str, ref_base: str, args) -> None:
    """Every operation, Mesa then its reference, `repetitions` times; results in op.runs."""
    for repetition in range(args.repetitions):
        for op in world["ops"]:
            if repetition == 0 and args.warmup:
                wrk(mesa_base, op.mesa, world, args, args.warmup)
            mesa = wrk(mesa_base, op.mesa, world, args, args.duration)
            ref = None
            if op.ref:
                if repetition == 0 and args.warmup:
                    wrk(ref_base, world["ref"][op.ref], world, args, args.warmup)
                ref = wrk(ref_base, world["ref"][op.ref], world, args, args.duration)
            op.runs.append((mesa, ref))
            ratio = f", ratio {mesa['rps'] / ref['rps']:.2f}" if ref else ""
            log(
                f"rep {repetition + 1}: {op.label}: Mesa {mesa['rps']:.1f} req/s"
                + (f", ref {ref['rps']:.1f} req/s" if ref else "")
                + ratio
                + f" (load {mesa['load']:.2f})"
            )


# ---------------------------------------------------------------- the table


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(op: Operation) -> dict:
    mesa = [m for m, _r in op.runs]
    refs = [r for _m, r in op.runs if r]
    result = {
        "rps": _median([m["rps"] for m in mesa]),
        "p50": _median([m["p50"] for m in mesa]),
        "p99": _median([m["p99"] for m in mesa]),
        "bad": sum(m["bad"] for m in mesa),
        "first_bad": next((m["first_bad"] for m in mesa if m["first_bad"]), ""),
        "ratios": [m["rps"] / r["rps"] for m, r in op.runs if r],
    }
    if refs:
        result.update(
            ref_rps=_median([r["rps"] for r in refs]),
            ref_p50=_median([r["p50"] for r in refs]),
            ref_p99=_median([r["p99"] for r in refs]),
            ref_bad=sum(r["bad"] for r in refs),
            ratio=_median(result["ratios"]),
        )
    return result


def _f(value, digits=1, width=8) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_table(size: int, world: dict, counts: dict, args) -> dict[str, dict]:
    tickets = world["tickets"]
    loads = [m["load"] for op in world["ops"] for m, _r in op.runs]
    loads += [r["load"] for op in world["ops"] for _m, r in op.runs if r]
    print()
    print(
        f"== {size:,} tickets: Mesa (gunicorn -w {args.workers}, REDIS_URL="
        f"{args.redis_url or 'unset'}) vs the reference (gunicorn -w {args.workers});"
        f" wrk -t{args.threads} -c{args.connections} -d{args.duration}s,"
        f" {args.repetitions} repetition(s), medians"
    )
    print(
        f"   GET reads Mesa ticket {tickets['mesa']} ({tickets['mesa_events']} history rows)"
        f" and reference ticket {tickets['ref']} ({tickets['ref_events']})"
    )
    head = (
        f"{'operation':<26}{'Mesa r/s':>9}{'p50 ms':>8}{'p99 ms':>8} |{'ref r/s':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8} |{'ratio':>6}{'target':>8}  {'stmts M/ref':>11}{'bad':>6}"
    )
    print(head)
    print("-" * len(head))
    results = {}
    for op in world["ops"]:
        s = summary(op)
        results[op.key] = s
        verdict = ""
        if op.target is not None and s.get("ratio") is not None:
            verdict = f"≥{op.target:.2f} {'ok' if s['ratio'] >= op.target else 'NO'}"
        stmts = f"{counts.get(op.key, '?')}/{counts.get(op.ref, '-') if op.ref else '-'}"
        bad = s["bad"] + s.get("ref_bad", 0)
        print(
            f"{op.label:<26}{_f(s['rps'], 1, 9)}{_f(s['p50'])}{_f(s['p99'])} |"
            f"{_f(s.get('ref_rps'))}{_f(s.get('ref_p50'))}{_f(s.get('ref_p99'))} |"
            f"{_f(s.get('ratio'), 2, 6)}{verdict:>9}  {stmts:>10}{bad:>6}"
        )
    print("-" * len(head))
    for op in world["ops"]:
        s = results[op.key]
        if s["ratios"] and args.repetitions > 1:
            print(
                f"   {op.label}: ratio per repetition " + " ".join(f"{r:.2f}" for r in s["ratios"])
            )
        if s["bad"] or s.get("ref_bad"):
            print(f"   {op.label}: BAD ANSWERS, first one: {s['first_bad'] or 'reference'}")
    print(
        f"   load average (1 min) after each run: min {min(loads):.2f}, mean"
        f" {statistics.mean(loads):.2f}, max {max(loads):.2f} on {os.cpu_count()} CPUs"
        f" (before the servers started: {world['idle_load'][0]:.2f})"
    )
    return results


def print_flatness(by_size: dict[int, dict]) -> None:
    small, large = min(by_size), max(by_size)
    a, b = by_size[small], by_size[large]
    print()
    print(
        f"== {large:,} / {small:,} tickets: slowdown = req/s at {small:,} ÷ req/s at {large:,}"
        " (issue 13: at most 1.2 for every page and API call)"
    )
    head = (
        f"{'operation':<26}{'Mesa r/s':>10}{'Mesa r/s':>10}{'slowdown':>10}{'p50 ms':>9}"
        f"{'p50 ms':>9}{'ref slowdown':>14}"
    )
    print(f"{'':<26}{small:>10,}{large:>10,}{'':>10}{small:>9,}{large:>9,}")
    print(head)
    for key, s in a.items():
        if key not in b:
            continue
        t = b[key]
        slowdown = s["rps"] / t["rps"] if t["rps"] else None
        ref = (
            f"{s['ref_rps'] / t['ref_rps']:>14.2f}" if s.get("ref_rps") and t.get("ref_rps") else ""
        )
        verdict = (" ok" if slowdown <= 1.2 else " NO") if slowdown else ""
        print(
            f"{s['label']:<26}{_f(s['rps'], 1, 10)}{_f(t['rps'], 1, 10)}{_f(slowdown, 2, 7)}"
            f"{verdict:<3}{_f(s['p50'], 1, 9)}{_f(t['p50'], 1, 9)}{ref}"
        )


def run_size(size: int, args) -> dict:
    prepare_databases(size, args)
    flush_redis(args.redis_url)
    logs = Path(tempfile.mkdtemp(prefix="mesa-drive-"))  # kept: the servers' logs
    idle_load = os.getloadavg()
    with servers(args, logs) as (mesa_base, ref_base):
        log(f"Mesa at {mesa_base}, reference at {ref_base} (logs in {logs})")
        world = prepare(mesa_base, ref_base, args)
        if args.ops:
            world["ops"] = [op for op in world["ops"] if op.key in args.ops]
        for op in world["ops"]:
            check(mesa_base, op.mesa, world, op.label)
            if op.ref:
                check(ref_base, world["ref"][op.ref], world, op.ref)
        counts = count_statements(world, args)
        measure(world, mesa_base, ref_base, args)
    world["idle_load"] = idle_load
    flush_redis(args.redis_url)
    close_pools()
    results = print_table(size, world, counts, args)
    for op in world["ops"]:
        results[op.key]["label"] = op.label
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[100000])
    parser.add_argument("-d", "--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("-r", "--repetitions", type=int, default=3)
    parser.add_argument("-c", "--connections", type=int, default=8)
    parser.add_argument("-t", "--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("-w", "--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unrecorded wrk before the first run"
    )
    parser.add_argument("--ops", nargs="+", help="only these operations (keys above)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even a matching database")
    parser.add_argument("--mesa-url", default=os.environ.get("MESA_BENCH_URL", build_db.MESA_URL))
    parser.add_argument("--ref-url", default=os.environ.get("REF_BENCH_URL", build_db.REF_URL))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args(argv)
    by_size = {}
    for size in args.sizes:
        by_size[size] = run_size(size, args)
    if len(by_size) > 1:
        print_flatness(by_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
