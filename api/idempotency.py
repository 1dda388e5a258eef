"""Idempotency-Key on the API's POSTs that create something, and If-Match on ticket writes.

A client that sent a POST and never saw the answer (a 503 from the proxy, a dropped
connection) sends it again with the same `Idempotency-Key`. The first answer is kept in
the database, in the same transaction as the change itself, so it is either there with
the change or absent with no change: the retry replays it (status, body, Location and ETag)
without running the service again, from any process or machine. Keys are per token and
remembered for IDEMPOTENCY_KEY_HOURS. The same key with a different request is refused
(422 idempotency_key_reused). Two requests with one key at the same moment: the second
waits on the key's unique index, its transaction is rolled back, and it replays the first.
Refusals (4xx) are not kept: nothing changed, and the retry is judged afresh.
"""

import datetime as dt
import functools
import hashlib
import json
import re

import peewee
from flask import current_app, g, request
from flask_babel import gettext as _

from ticketing.api_tokens import digest
from ticketing.db import db
from ticketing.errors import DomainError
from ticketing.models import ApiToken, IdempotencyKey, now
from ticketing.outbox import unit_of_work
from ticketing.web.api_errors import BadInput

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag", "Cache-Control")
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as header values travel


class KeyReused(DomainError):
    """The key was sent before with another request."""

    code, status = "idempotency_key_reused", 422


class PreconditionFailed(DomainError):
    """`If-Match` names a version the ticket is no longer at."""

    code, status = "precondition_failed", 412


def _fingerprint() -> str:
    parts = [request.method, request.path, request.mimetype or ""]
    data = hashlib.sha256("\n".join(parts).encode())
    data.update(b"\n" + request.get_data(cache=True))
    return data.hexdigest()


def _token_id() -> int | None:
    _scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    row = ApiToken.get_or_none(ApiToken.token_hash == digest(secret.strip()))
    return row.id if row is not None else None


def _kept(token_id: int, key: str) -> IdempotencyKey | None:
    hours = current_app.config.get("IDEMPOTENCY_KEY_HOURS", 24)
    oldest = now() - dt.timedelta(hours=hours)
    row = IdempotencyKey.get_or_none(
        (IdempotencyKey.token == token_id) & (IdempotencyKey.key == key)
    )
    if row is not None and row.created_at < oldest:
        IdempotencyKey.delete().where(IdempotencyKey.id == row.id).execute()
        return None
    return row


def _replay(row: IdempotencyKey, fingerprint: str):
    if row.fingerprint != fingerprint:
        message = _("Esa clave de idempotencia ya se usó con otra solicitud.")
        raise KeyReused(message, fields={HEADER: message})
    response = current_app.response_class(row.body, status=row.status, mimetype="application/json")
    for name, value in json.loads(row.headers).items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def _forget_expired(token_id: int) -> None:
    hours = current_app.config.get("IDEMPOTENCY_KEY_HOURS", 24)
    oldest = now() - dt.timedelta(hours=hours)
    IdempotencyKey.delete().where(
        (IdempotencyKey.token == token_id) & (IdempotencyKey.created_at < oldest)
    ).execute()


def _kept_body(response) -> str:
    """What a replay answers: the body, or what the view chose to keep instead of it."""
    kept = g.pop("idempotent_body", None)
    if kept is not None:
        return json.dumps(kept)
    return response.get_data(as_text=True)


def _kept_headers(response) -> dict[str, str]:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


def idempotent(view):
    """Give a creating POST the Idempotency-Key behaviour (the header stays optional)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return _answer(view, args, kwargs)
        finally:
            # `g` may outlive the request (an outer app context): keep nothing for the next
            g.pop("idempotent_body", None)

    return wrapper


def _answer(view, args, kwargs):
    """The view's answer, kept under the request's key; or the kept answer, replayed."""
    key = request.headers.get(HEADER)
    if key is None:
        return view(*args, **kwargs)
    if not KEY_PATTERN.fullmatch(key):
        message = _("Use de 1 a 255 caracteres ASCII visibles.")
        raise BadInput(_("La solicitud está mal formada."), fields={HEADER: message})
    token_id = _token_id()
    fingerprint = _fingerprint()
    row = _kept(token_id, key)
    if row is not None:
        return _replay(row, fingerprint)
    try:
        with unit_of_work():
            response = view(*args, **kwargs)
            if 200 <= response.status_code < 300:
                _forget_expired(token_id)
                with db.atomic():
                    IdempotencyKey.create(
                        token=token_id,
                        key=key,
                        fingerprint=fingerprint,
                        status=response.status_code,
                        body=_kept_body(response),
                        headers=json.dumps(_kept_headers(response)),
                    )
    except peewee.IntegrityError:
        # the same key, committed meanwhile by a concurrent request: this change was
        # rolled back with the failed insert, and the first answer is replayed
        row = _kept(token_id, key)
        if row is None:
            raise
        return _replay(row, fingerprint)
    return response


# ---------------------------------------------------------------- conditional requests

_ETAG = re.compile(r'\s*(?:W/)?"([0-9]{1,10})"\s*')


def etag(version: int) -> str:
    """The ticket's entity tag: weak, its version (comments do not change it)."""
    return f'W/"{version}"'


def if_match_version(current: int) -> int | None:
    """The version `If-Match` names, when it matches `current`; 412 when it does not.

    None without the header (it stays optional); `*` matches the current version. Weak
    comparison: W/"7" and "7" both match version 7.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if header.strip() == "*":
        return current
    versions = []
    for part in header.split(","):
        found = _ETAG.fullmatch(part)
        if found is None:
            message = _('Use la ETag recibida, p. ej. W/"3".')
            raise BadInput(_("La solicitud está mal formada."), fields={"If-Match": message})
        versions.append(int(found.group(1)))
    if current not in versions:
        message = _("El ticket cambió desde que se leyó. Léalo de nuevo.")
        raise PreconditionFailed(message, fields={"If-Match": message})
    return current
