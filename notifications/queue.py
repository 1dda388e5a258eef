"""RQ plumbing: the queue the web enqueues on, and the app a worker process was given."""

import threading

from flask import current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Queue
from rq.serializers import JSONSerializer

_clients: dict[str, Redis] = {}  # one client (and its connection pool) per URL, per process
_clients_lock = threading.Lock()


def redis_connection(url: str | None = None) -> Redis:
    """This process's Redis client for `url`: pooled, and quick to give up when Redis is down.

    The client is built once per URL and shared by every request, job and thread of the
    process; redis-py's pool notices a fork (a gunicorn worker, an RQ work horse) and opens
    fresh sockets in the child. A pooled socket that Redis dropped (a restart) is retried
    once on a new connection, with no backoff: a Redis that is down costs a request two
    refused connects, not redis-py's default ten retries, and the sweeper catches up.
    """
    url = url or current_app.config["REDIS_URL"]
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                client = Redis.from_url(
                    url,
                    socket_connect_timeout=2,
                    socket_timeout=5,
                    retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
                )
                _clients[url] = client
    return client


def get_queue(url: str | None = None, name: str | None = None) -> Queue:
    """The jobs queue, with the JSON serializer, on this process's pooled Redis client."""
    name = name or current_app.config["RQ_QUEUE"]
    return Queue(name, connection=redis_connection(url), serializer=JSONSerializer)


_worker_app = None  # the app of this worker process, bound once by `ticketing.worker`


def bind_worker_app(app) -> None:
    """Hand the worker process's app to the jobs (delivery never imports the factory)."""
    global _worker_app
    _worker_app = app


def worker_app():
    """The app a worker process built once, before forking its work horses."""
    if _worker_app is None:
        raise RuntimeError(
            "no app in this worker: start it with --worker-class ticketing.worker.AppWorker"
        )
    return _worker_app
