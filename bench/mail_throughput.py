"""Benchmark mail delivery end to end: outbox rows → RQ workers → an SMTP sink.

Usage::

    .venv/bin/python bench/mail_throughput.py                  # 2000 rows, 2 workers
    .venv/bin/python bench/mail_throughput.py -n 5000 -w 1     # other sizes
    .venv/bin/python bench/mail_throughput.py --per-request 10 --runs 3
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mail_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/mail_throughput.py

The Mesa tables of BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/mail_bench)
are DROPPED and recreated: point it at a scratch database. Redis is a private
redis-server on a free loopback port unless BENCH_REDIS_URL names a database, which is
then FLUSHED. Each run:

1. seeds the database (SGE, the Quipux process, its mail templates, the demo people) and
   writes at least N outbox rows as the product does: comments through the services on a
   few tickets, whose notifications stay pending (no dispatcher is wired in meanwhile);
2. starts an aiosmtpd sink on a free loopback port that counts messages per Message-ID,
   and W `rq worker --worker-class ticketing.worker.AppWorker` processes (the Procfile's
   line, with the scheduler) with the environment a deployment gives them;
3. dispatches the rows as the web does after commit, `--per-request` rows per call of
   `notifications.dispatch.dispatch`, and measures the wall time from the first enqueue
   to the last message the sink received.

It prints mails/s, lost rows (dispatched, never received), duplicates (Message-IDs
received more than once), SMTP sessions, and each worker's peak RSS (VmHWM, MiB) of the
worker process and of its children (work horses, the scheduler), sampled every 50 ms.
Figures only: nothing here is asserted.
"""

import argparse
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from redis import Redis  # noqa: E402

from ticketing.app import create_app  # noqa: E402
from ticketing.db import db  # noqa: E402
from ticketing.models import MODELS, PENDING, Outbox  # noqa: E402
from ticketing.outbox import DISPATCH  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/mail_bench"
QUEUE = "mesa-bench"
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the SMTP sink


class Sink:
    """An aiosmtpd handler that counts messages per Message-ID and SMTP sessions."""

    def __init__(self):
        self.received: Counter[str] = Counter()
        self.sessions: list = []
        self.last = 0.0  # time.monotonic() of the latest message

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not any(known is session for known in self.sessions):
            self.sessions.append(session)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        found = _MESSAGE_ID.search(envelope.content)
        self.received[found.group(1).decode() if found else "(none)"] += 1
        self.last = time.monotonic()
        return "250 Message accepted for delivery"


# ---------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server of this run only, on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("redis-server is not installed; or set BENCH_REDIS_URL")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)
        client.close()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


# ---------------------------------------------------------------- the rows


def build(url: str, n: int) -> list[int]:
    """A fresh database with at least `n` pending outbox rows written through the services."""
    from ticketing import services
    from ticketing.models import FIRST_LEVEL, Queue, Ticket, User
    from ticketing.seeding import load_demo, seed

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "SEED_DEMO": False,
            "PUBLIC_URL": "http://mesa.bench",
        }
    )
    logging.getLogger("mesa").setLevel(logging.WARNING)  # the set-up's own mail is only logged
    with app.app_context():
        db.connect(reuse_if_open=True)
        db.drop_tables(MODELS, cascade=url.startswith("postgres"), safe=True)
        db.create_tables(MODELS)
        seed()
        load_demo()
        requesters = list(User.select().where(User.role == "interno").order_by(User.id))
        tickets = []
        for requester in requesters:
            for i in range(3):
                tickets.append(
                    services.open_ticket(
                        requester,
                        "soporte",
                        f"No puedo firmar el oficio {i + 1}",
                        {
                            "categoria": "incidente",
                            "modulo": "bandeja_entrada",
                            "descripcion": "Al firmar, el sistema muestra un error de token.",
                        },
                    )
                )
        # every ticket's agents: the focal point assigns, then requester and agent talk
        for ticket in tickets:
            queue = Queue.get_by_id(ticket.queue_id)
            agents = list(
                User.select().where(
                    (User.institution == queue.institution) & (User.role.in_(["focal", "aiq"]))
                )
            )
            focal = next(a for a in agents if a.role == "focal")
            aiq = next((a for a in agents if a.role == "aiq"), focal)
            if queue.level == FIRST_LEVEL:
                services.assign(focal, ticket.id, aiq.id)
        tickets = [Ticket.get_by_id(t.id) for t in tickets]  # with their assignees
        app.extensions.pop(DISPATCH)  # from here the rows stay pending, as after a commit
        logging.getLogger("mesa.outbox").setLevel(logging.ERROR)
        turn = 0
        while Outbox.select().where(Outbox.status == PENDING).count() < n:
            ticket = tickets[turn % len(tickets)]
            requester = User.get_by_id(ticket.requester_id)
            agent = User.get_by_id(ticket.assignee_id) if ticket.assignee_id else requester
            author = requester if turn % 2 else agent
            for _ in range(10):
                services.add_comment(
                    author,
                    ticket.id,
                    f"Comentario {turn}: adjunto la captura del error y el número de oficio.",
                )
            turn += 1
        ids = [
            r.id
            for r in Outbox.select(Outbox.id).where(Outbox.status == PENDING).order_by(Outbox.id)
        ]
        db.close()
    return ids


# ---------------------------------------------------------------- the workers


def _children(pid: int) -> list[int]:
    """The live children of a process (from every thread of it)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(child) for child in fh.read().split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and of its children it has reaped (work horses)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """Seconds of CPU busy and in all, summed over the machine's cores (from /proc/stat)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RSSWatch(threading.Thread):
    """Samples the peak RSS of each worker and of its children (work horses, scheduler)."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.parent = dict.fromkeys(pids, 0)
        self.child = dict.fromkeys(pids, 0)
        self.horses = {pid: set() for pid in pids}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.05)

    def sample(self):
        for pid in self.pids:
            self.parent[pid] = max(self.parent[pid], _hwm_kib(pid))
            for child in _children(pid):
                self.horses[pid].add(child)
                self.child[pid] = max(self.child[pid], _hwm_kib(child))


def start_workers(
    count: int, env: dict, redis_url: str, logs: str, worker_class: str
) -> list[subprocess.Popen]:
    """`count` workers as the Procfile starts them (JSON, the app worker, the scheduler)."""
    workers = []
    for i in range(count):
        command = [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--with-scheduler",
            "--worker-class",
            worker_class,
            "--serializer",
            "rq.serializers.JSONSerializer",
            "--url",
            redis_url,
            "--name",
            f"bench-{os.getpid()}-{i}",
            "--quiet",
            QUEUE,
        ]
        log = open(Path(logs) / f"worker-{i + 1}.log", "wb")  # noqa: SIM115
        workers.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        log.close()
    from rq import Worker

    client = Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while len(Worker.all(connection=client)) < count:
        dead = [w for w in workers if w.poll() is not None]
        if dead or time.monotonic() > deadline:
            stop_workers(workers)
            raise SystemExit(f"workers did not start: see {logs}")
        time.sleep(0.1)
    client.close()
    return workers


def stop_workers(workers) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # warm shut-down
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# ---------------------------------------------------------------- one run


def run(args, database_url: str, redis_url: str, instance: str) -> dict:
    ids = build(database_url, args.rows)
    Redis.from_url(redis_url).flushdb()
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESA_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        RQ_QUEUE=QUEUE,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        PUBLIC_URL="http://mesa.bench",
        SECRET_KEY="bench-secret",
        SEED_DEMO="0",
        INSTANCE_PATH=instance,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    logs = args.logs or instance
    Path(logs).mkdir(parents=True, exist_ok=True)
    workers = start_workers(args.workers, env, redis_url, logs, args.worker_class)
    watch = RSSWatch([w.pid for w in workers])
    watch.start()
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RQ_QUEUE": QUEUE,
            "SECRET_KEY": "bench-secret",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "SEED_DEMO": False,
            "INSTANCE_PATH": instance,
        }
    )
    try:
        with app.app_context():
            dispatch = app.extensions[DISPATCH]
            dispatch([])  # the web's Redis client exists before the first request
            cpu_before = [_cpu_seconds(w.pid) for w in workers], os.times(), _machine_busy()
            started = time.monotonic()
            for i in range(0, len(ids), args.per_request):
                dispatch(ids[i : i + args.per_request])
            enqueued = time.monotonic() - started
            deadline = time.monotonic() + args.timeout
            idle_since = time.monotonic()
            seen = 0
            while len(sink.received) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.05)
                if len(sink.received) != seen:
                    seen, idle_since = len(sink.received), time.monotonic()
                elif time.monotonic() - idle_since > 20:
                    break  # no progress for 20 s: the rest is lost
            time.sleep(0.5)  # a late duplicate would show up now
            finished = sink.last
            cpu_after = [_cpu_seconds(w.pid) for w in workers], os.times(), _machine_busy()
            db.connect(reuse_if_open=True)
            statuses = Counter(
                r.status for r in Outbox.select(Outbox.status).where(Outbox.id.in_(ids))
            )
            message_ids = {
                r.message_id for r in Outbox.select(Outbox.message_id).where(Outbox.id.in_(ids))
            }
            db.close()
    finally:
        watch.done.set()
        watch.join()
        watch.sample()
        stop_workers(workers)
        controller.stop()
    received = set(sink.received) & message_ids
    seconds = max(finished - started, 1e-9)
    return {
        "rows": len(ids),
        "received": len(received),
        "seconds": seconds,
        "enqueue_seconds": enqueued,
        "mails_per_second": len(received) / seconds,
        "lost": len(message_ids - received),
        "duplicates": sum(1 for m, c in sink.received.items() if c > 1),
        "sessions": len(sink.sessions),
        "cpu_ms_per_mail": {
            "workers": sum(cpu_after[0]) - sum(cpu_before[0]),
            "bench and sink": (cpu_after[1].user + cpu_after[1].system)
            - (cpu_before[1].user + cpu_before[1].system),
            "machine busy": cpu_after[2][0] - cpu_before[2][0],
            "machine total": cpu_after[2][1] - cpu_before[2][1],
        },
        "statuses": dict(statuses),
        "rss": [
            (watch.parent[pid] / 1024, watch.child[pid] / 1024, len(watch.horses[pid]))
            for pid in watch.pids
        ],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--rows", type=int, default=2000, help="outbox rows (default 2000)")
    parser.add_argument("-w", "--workers", type=int, default=2, help="rq workers (default 2)")
    parser.add_argument(
        "--per-request", type=int, default=50, help="rows per dispatch, as one request writes"
    )
    parser.add_argument("--runs", type=int, default=1, help="repetitions (a fresh database each)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the mail")
    parser.add_argument("--logs", help="folder for the workers' logs (default: a temporary one)")
    parser.add_argument(
        "--worker-class",
        default="ticketing.worker.AppWorker",
        help="rq worker class (default the Procfile's, which forks a work horse per job)",
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE
    private = None if os.environ.get("BENCH_REDIS_URL") else PrivateRedis()
    redis_url = os.environ.get("BENCH_REDIS_URL") or private.url
    print(
        f"mail throughput: {args.rows} rows, {args.workers} worker(s), {args.per_request} per"
        f" request; {args.worker_class}; database {database_url}, redis {redis_url}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="mesa-bench-") as instance:
            for number in range(1, args.runs + 1):
                result = run(args, database_url, redis_url, instance)
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                cpu = ", ".join(
                    f"{name} {seconds * 1000 / max(result['received'], 1):.2f}"
                    for name, seconds in result["cpu_ms_per_mail"].items()
                )
                rss = ", ".join(
                    f"worker {i + 1}: {parent:.1f} MiB, children peak {child:.1f} MiB"
                    f" ({horses} forked)"
                    for i, (parent, child, horses) in enumerate(result["rss"])
                )
                print(
                    f"run {number}: {result['received']}/{result['rows']} mails in"
                    f" {result['seconds']:.2f} s = {result['mails_per_second']:.0f} mails/s"
                    f" (enqueued in {result['enqueue_seconds'] * 1000:.0f} ms);"
                    f" lost {result['lost']}, duplicates {result['duplicates']};"
                    f" {result['sessions']} SMTP sessions; rows {result['statuses']};"
                    f" CPU ms per mail: {cpu};"
                    f" peak RSS {rss}; load average {load}"
                )
    finally:
        if private is not None:
            private.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
