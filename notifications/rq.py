"""RQ plumbing: the queue the web enqueues on, and the app the worker builds once."""

from functools import lru_cache

from flask import current_app
from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer


def redis_connection(url: str | None = None) -> Redis:
    """A Redis client that gives up quickly when Redis is down (the sweeper catches up)."""
    url = url or current_app.config["REDIS_URL"]
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_queue(url: str | None = None, name: str | None = None) -> Queue:
    """The jobs queue, with the JSON serializer."""
    name = name or current_app.config["RQ_QUEUE"]
    return Queue(name, connection=redis_connection(url), serializer=JSONSerializer)


@lru_cache(maxsize=1)
def worker_app():
    """The app a worker process builds once (before forking, with `AppWorker`)."""
    from ticketing.app import create_app

    return create_app()


class AppWorker(Worker):
    """RQ's forking worker that builds the app once, so every work horse inherits it.

    Start it with `rq worker --worker-class notifications.rq.AppWorker ...`.
    """

    def work(self, *args, **kwargs):
        worker_app()
        return super().work(*args, **kwargs)
