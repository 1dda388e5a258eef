"""Idempotency keys of the API: the answer a POST gave, kept so a retry replays it."""

import peewee as pw

from ticketing.models.base import BaseModel, now
from ticketing.models.people import ApiToken


class IdempotencyKey(BaseModel):
    """One `Idempotency-Key` a token sent, with the request it came with and the answer.

    Written in the same transaction as the change the request made: either both are
    stored or neither is, so a retry can never run the change a second time.
    """

    token = pw.ForeignKeyField(ApiToken, backref="idempotency_keys", on_delete="CASCADE")
    key = pw.CharField(max_length=255)
    fingerprint = pw.CharField(max_length=64)  # SHA-256 of method, path, type and body
    status = pw.IntegerField()
    body = pw.TextField()
    headers = pw.TextField(default="{}")  # JSON: the Location and ETag it answered
    created_at = pw.DateTimeField(default=now, index=True)

    class Meta:
        indexes = ((("token", "key"), True),)

    def __str__(self):
        return f"{self.key} ({self.token_id})"
