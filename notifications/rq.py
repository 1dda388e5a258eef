"""RQ plumbing: the queue the web enqueues on, and the app the worker builds once."""

from functools import lru_cache

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def redis_connection(url: str | None = None) -> Redis:
    url = url or current_app.config["REDIS_URL"]
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_queue(url: str | None = None) -> Queue:
    """The jobs queue, with the JSON serializer."""
    name = current_app.config["RQ_QUEUE"]
    return Queue(name, connection=redis_connection(url), serializer=JSONSerializer)


@lru_cache(maxsize=1)
def worker_app():
    """The app a worker process builds once, at its first job."""
    from ticketing.app import create_app

    return create_app()
