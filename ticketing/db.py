"""The database handle: one proxy bound at app creation, connections per request.

On PostgreSQL the connections are pooled per process (`DB_POOL_SIZE`): a request or job
checks one out and gives it back, so no request pays for a new backend. A connection the
server dropped is never handed out again: peewee's pool checks each idle connection as it
is checked out (a `SELECT 1` round trip, not counted as a statement) and replaces a dead one.
"""

import functools
import json
import os
import threading
from contextlib import contextmanager

import peewee
from playhouse.db_url import connect
from playhouse.pool import PooledPostgresqlDatabase

db = peewee.DatabaseProxy()

_counter = threading.local()


class JSONField(peewee.TextField):
    """JSON stored as text: portable between SQLite and PostgreSQL."""

    def db_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    def python_value(self, value):
        if value is None:
            return None
        return json.loads(value)


class CountingMixin:
    """Counts executed statements per thread, so tests can assert queries per page."""

    def execute_sql(self, sql, params=None, *args, **kwargs):
        counter = getattr(_counter, "value", None)
        if counter is not None:
            counter.append(sql)
        return super().execute_sql(sql, params, *args, **kwargs)


class CountingSqlite(CountingMixin, peewee.SqliteDatabase):
    pass


class CountingPostgres(CountingMixin, peewee.PostgresqlDatabase):
    pass


class PooledCountingPostgres(CountingMixin, PooledPostgresqlDatabase):
    """A per-process pool that a forked child (an RQ work horse) never shares.

    A child inherits its parent's idle sockets: using or even closing one would speak on
    the parent's session. On the first checkout in a new process the inherited pool and
    this thread's inherited connection are forgotten without closing them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = os.getpid()

    def _forget_inherited(self) -> None:
        if self._pid != os.getpid():
            with self._pool_lock:
                self._connections, self._in_use = [], {}
                self._pid = os.getpid()
            self._state.reset()

    def connect(self, reuse_if_open=False):
        self._forget_inherited()
        return super().connect(reuse_if_open)


@contextmanager
def count_queries():
    """Collect the SQL statements run in this thread inside the block."""
    previous = getattr(_counter, "value", None)
    statements: list[str] = []
    _counter.value = statements
    try:
        yield statements
    finally:
        _counter.value = previous


# what a lost, refused or dropped connection raises (peewee wraps the driver's errors);
# SQLite's "database is locked" is an OperationalError too, and just as passing
CONNECTION_ERRORS = (peewee.OperationalError, peewee.InterfaceError)


def discard_connection() -> None:
    """Give back this thread's connection (to the pool), even one the server dropped."""
    if db.is_closed():
        return
    try:
        db.close()
    except peewee.DatabaseError:
        if db.in_transaction():  # closing inside a transaction is a bug, not a blip
            raise
        # the driver could not close a dead socket; close() has forgotten it anyway


def usable_connection() -> None:
    """Open this thread's connection, replacing one that a failed statement left broken.

    peewee keeps a connection whose server went away as "open" and never reconnects by
    itself; a broken one (psycopg2 marks it after the first failure) is closed and a new
    one opened, so the next request or job after a database blip works again.
    """
    if not db.is_closed() and not db.in_transaction() and not db.is_connection_usable():
        discard_connection()
    db.connect(reuse_if_open=True)


def connected(fn):
    """Run a CLI command with a database connection, closed afterwards if it opened one."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        opened = db.connect(reuse_if_open=True)
        try:
            return fn(*args, **kwargs)
        finally:
            if opened and not db.is_closed():
                db.close()

    return wrapper


def make_database(url: str, pool_size: int = 0) -> peewee.Database:
    """Build a database from a URL; SQLite gets WAL mode and a busy timeout.

    PostgreSQL is pooled when `pool_size` > 0: at most that many connections per process,
    each recycled after five minutes; a request waits up to ten seconds for a free one.
    """
    if url.startswith("sqlite"):
        path = url.split("://", 1)[1].lstrip("/") if "://" in url else url
        if url.startswith("sqlite:////"):
            path = "/" + path
        if path in ("", ":memory:"):
            path = ":memory:"
        return CountingSqlite(
            path,
            pragmas={
                "journal_mode": "wal" if path != ":memory:" else "memory",
                "busy_timeout": 5000,
                "foreign_keys": 1,
                "synchronous": "normal",
            },
            check_same_thread=False,
        )
    if url.startswith(("postgres://", "postgresql://")):
        parsed = connect(url)  # reuse playhouse's URL parsing, then swap in our class
        if pool_size > 0:
            return PooledCountingPostgres(
                parsed.database,
                max_connections=pool_size,
                stale_timeout=300,
                timeout=10,
                **parsed.connect_params,
            )
        return CountingPostgres(parsed.database, **parsed.connect_params)
    return connect(url)


def bind(url: str, pool_size: int = 0) -> peewee.Database:
    """Point the module proxy at the database named by `url` (a previous pool is closed)."""
    if isinstance(db.obj, PooledPostgresqlDatabase):
        db.obj.close_all()
    database = make_database(url, pool_size)
    db.initialize(database)
    return database
