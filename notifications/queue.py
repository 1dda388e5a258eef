"""RQ plumbing: the queue the web enqueues on, and the app a worker process was given."""

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def redis_connection(url: str | None = None) -> Redis:
    """A Redis client that gives up quickly when Redis is down (the sweeper catches up)."""
    url = url or current_app.config["REDIS_URL"]
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_queue(url: str | None = None, name: str | None = None) -> Queue:
    """The jobs queue, with the JSON serializer."""
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
