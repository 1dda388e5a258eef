"""Periodic jobs for `rq cron notifications.cron`: the outbox sweeper and deadline reminders.

rq 3.0's cron scheduler enqueues with the default (pickle) serializer whatever
`--serializer` says, and our workers read JSON; so the scheduler's queue class is
bound to the JSON serializer here, in the cron process only.
"""

import os

import rq.cron
from rq import Queue, cron
from rq.serializers import JSONSerializer

from notifications.jobs import sweep_job
from notifications.reminders import reminders_job
from ticketing.settings import SETTINGS

QUEUE = os.environ.get("MESA_RQ_QUEUE") or os.environ.get("RQ_QUEUE") or SETTINGS["RQ_QUEUE"][0]
SWEEP_EVERY_SECONDS = 60
REMINDERS_CRON = "0 * * * *"  # hourly: a breach is reported within the hour, once


class JSONQueue(Queue):
    """A queue that always serializes jobs as JSON."""

    def __init__(self, *args, **kwargs):
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)


rq.cron.Queue = JSONQueue

cron.register(sweep_job, QUEUE, interval=SWEEP_EVERY_SECONDS, job_timeout=600)
cron.register(reminders_job, QUEUE, cron=REMINDERS_CRON, job_timeout=600)
