"""The RQ worker process: it builds the app once, before forking, and hands it to the jobs.

Start it with `rq worker --worker-class ticketing.worker.AppWorker ...` (see the Procfile).
"""

from rq import Worker

from notifications.queue import bind_worker_app
from ticketing.app import create_app


class AppWorker(Worker):
    """RQ's forking worker that builds the app once, so every work horse inherits it."""

    def work(self, *args, **kwargs):
        bind_worker_app(create_app())
        return super().work(*args, **kwargs)
