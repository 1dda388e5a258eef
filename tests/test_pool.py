"""The PostgreSQL connection pool: bounded, recovered after killed backends, never shared
with a forked child. PostgreSQL only: SQLite has no pool and no backends."""

import os
import threading

import peewee
import pytest
from playhouse.pool import PooledPostgresqlDatabase

from tests.conftest import user
from tests.notifications.conftest import kill_backends
from ticketing.api_tokens import create_token
from ticketing.db import db

POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
pytestmark = [
    pytest.mark.skipif(not POSTGRES, reason="the pool exists on PostgreSQL only"),
    pytest.mark.parametrize("app", ["postgres"], indirect=True),
    pytest.mark.config(DB_POOL_SIZE=4),
]


def _backend_pid() -> int:
    return db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def _in_threads(n: int, work) -> list:
    """Run `work` in `n` threads at once, each holding its connection until all have one."""
    results, barrier = [None] * n, threading.Barrier(n)

    def run(i):
        db.connect(reuse_if_open=True)
        try:
            results[i] = work()
            barrier.wait(timeout=10)
        finally:
            db.close()  # back to the pool

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    return results


def test_requests_reuse_pooled_connections(app, client):
    assert isinstance(db.obj, PooledPostgresqlDatabase)
    db.close()
    headers = {"Authorization": f"Bearer {create_token(user('interno'))[1]}"}
    pids = set()
    for _ in range(5):
        assert client.get("/api/v1/tickets", headers=headers).status_code == 200
        db.connect(reuse_if_open=True)
        pids.add(_backend_pid())
        db.close()
    assert len(pids) == 1  # one backend served every request: none was opened per request


def test_the_pool_never_opens_more_than_its_size(app):
    db.close()
    pids = _in_threads(4, _backend_pid)
    assert len(set(pids)) == 4
    assert len(db.obj._connections) == 4  # all four idle in the pool afterwards
    again = _in_threads(4, _backend_pid)
    assert set(again) == set(pids)  # reused, not reopened


def test_after_backends_are_killed_at_most_one_request_fails(app, client):
    """Every idle pooled connection died with its backend: one request may meet a dead one
    (answered 503), which empties the pool's idle ones; the next request works."""
    headers = {"Authorization": f"Bearer {create_token(user('interno'))[1]}"}
    db.close()
    _in_threads(4, _backend_pid)  # four idle pooled connections
    assert kill_backends() >= 4
    statuses = [client.get("/api/v1/tickets", headers=headers).status_code for _ in range(3)]
    assert statuses[0] in (200, 503)
    assert statuses[1:] == [200, 200], statuses


def test_a_forked_child_never_uses_its_parents_connections(app):
    db.connect(reuse_if_open=True)
    parent_pid = _backend_pid()
    db.close()  # idle in the pool, inherited by the child
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its own backend, and the parent's left untouched
        code = 1
        try:
            db.connect(reuse_if_open=True)
            os.write(write, str(_backend_pid()).encode())
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)
    os.close(write)
    child_pid = int(os.read(read, 64) or 0)
    os.close(read)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_pid and child_pid != parent_pid
    db.connect(reuse_if_open=True)
    try:
        assert _backend_pid() == parent_pid  # the parent's connection still works
    except peewee.DatabaseError as exc:  # pragma: no cover - the failure this test guards
        pytest.fail(f"the child broke the parent's pooled connection: {exc}")
