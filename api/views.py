"""The JSON API under /api/v1: thin adapters from HTTP to the service layer.

Authentication is by personal token only (`Authorization: Bearer ...`), never by the
session cookie, which is why the blueprint can be exempt from CSRF protection.
"""

import datetime as dt
import json
import math
import re

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from api import serializers
from api.idempotency import etag, idempotent, if_match_version
from ticketing import paging, search, services
from ticketing.api_tokens import create_token, revoke_token, tokens_of, user_for_token
from ticketing.attachments import download_response
from ticketing.errors import DomainError, NotFound, ValidationFailed
from ticketing.fields import UploadedFile
from ticketing.models import (
    Attachment,
    Blob,
    Comment,
    DefaultTrackingItem,
    Institution,
    Ticket,
    TicketType,
    TrackingItem,
    User,
)
from ticketing.services import rollout
from ticketing.services.checklist import set_checklist_items
from ticketing.services.people import resend_invitation
from ticketing.visibility import (
    get_visible_ticket,
    visible_attachments,
    visible_institutions,
    visible_tickets,
    visible_users,
    with_list_relations,
)
from ticketing.web.api_errors import (
    BadInput,
    Unauthorized,
    domain_error,
    http_error,
    unexpected_error,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_error_handler(DomainError, domain_error)
bp.register_error_handler(HTTPException, http_error)
bp.register_error_handler(Exception, unexpected_error)  # a bug: logged, answered as JSON

ID_MAX = 2**31 - 1  # ids and versions are 32-bit integer columns
PAGE_DEFAULT, PAGE_MAX = 25, 100
MAX_DEPTH = 16  # nesting levels a request body may use; no field kind needs more than two
PUBLIC_ENDPOINTS = {"api.openapi"}


# ---------------------------------------------------------------- authentication


@bp.before_request
def _authenticate():
    from ticketing.web.extensions import login_manager

    # the API never reads the session cookie: the caller is the token's owner or nobody
    g._login_user = login_manager.anonymous_user()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthorized(_("Falta el token de acceso o no es válido."))
    g._login_user = user
    _check_query_text()
    return None


@bp.teardown_request
def _forget_caller(_exc):
    # the caller lives in `g` for this request only, even where an outer app context
    # (a test, a CLI command) outlives it and the next request would reuse `g`
    g.pop("_login_user", None)


def actor():
    """The person the token belongs to."""
    return g._login_user


# ---------------------------------------------------------------- reading input


def _bad(fields: dict[str, str]):
    return BadInput(_("La solicitud está mal formada."), fields=fields)


def _invalid_text(value) -> str | None:
    """Why a piece of text cannot be stored (NUL, lone surrogates), or None."""
    if "\x00" in value:
        return _("El texto contiene caracteres no permitidos.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("El texto contiene caracteres no permitidos.")
    return None


def _check_values(value, where: str, depth: int = 0) -> None:
    """Refuse text no database column can hold, numbers JSON cannot carry, deep nesting."""
    if depth > MAX_DEPTH:
        raise _bad({where: _("Demasiados niveles de anidación.")})
    if isinstance(value, str):
        problem = _invalid_text(value)
        if problem:
            raise ValidationFailed(problem, fields={where: problem})
    elif isinstance(value, float) and not math.isfinite(value):
        raise _bad({where: _("Número fuera de rango.")})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, where, depth + 1)
            _check_values(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_values(item, where, depth + 1)


def _parse_json(text: str | bytes):
    """JSON text as Python, or BadInput (nesting past the parser's depth included)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise BadInput(_("El cuerpo debe ser un objeto JSON.")) from None


def _check_query_text() -> None:
    for name, value in request.args.items(multi=True):
        if _invalid_text(name) or _invalid_text(value):
            raise _bad({name: _("El texto contiene caracteres no permitidos.")})


# exactly what the description allows: JSON's spellings, ASCII digits (int() would also
# take "1_000", " 7" or other scripts' digits, which the description calls invalid)
_BOOLEANS = {"true": True, "false": False}
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def _parse_int(text: str) -> int | None:
    return int(text) if _INTEGER.fullmatch(text) else None


def _coerce_form(kind: str, text: str, name: str):
    """A multipart text part read as the JSON type the endpoint expects."""
    if kind == "str":
        return text
    if kind == "bool":
        if text in _BOOLEANS:
            return _BOOLEANS[text]
        raise _bad({name: _("Debe ser true o false.")})
    if kind in ("int", "int_or_null"):
        if kind == "int_or_null" and text in ("", "null"):
            return None
        value = _parse_int(text)
        if value is None:
            raise _bad({name: _("Debe ser un número entero.")})
        return value
    if kind == "object":
        try:
            return json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):
            raise _bad({name: _("Debe ser un objeto JSON.")}) from None
    raise AssertionError(kind)


def _type_error(kind: str, value) -> str | None:
    if kind == "str" and not isinstance(value, str):
        return _("Debe ser texto.")
    if kind == "bool" and not isinstance(value, bool):
        return _("Debe ser true o false.")
    if kind == "object" and not isinstance(value, dict):
        return _("Debe ser un objeto JSON.")
    if kind == "list" and not isinstance(value, list):
        return _("Debe ser una lista.")
    if kind in ("int", "int_or_null"):
        if value is None and kind == "int_or_null":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return _("Debe ser un número entero.")
        if not 0 <= value <= ID_MAX:
            return _("Número fuera de rango.")
    return None


def _shape_errors(spec: dict[str, tuple[str, bool]], data: dict) -> dict[str, str]:
    """A message per property of `data` that `spec` does not allow or that is missing."""
    errors = {}
    for name, value in data.items():
        if name not in spec:
            errors[name] = _("Propiedad desconocida.")
            continue
        problem = _type_error(spec[name][0], value)
        if problem:
            errors[name] = problem
    for name, (_kind, required) in spec.items():
        if required and name not in data:
            errors[name] = _("Este campo es obligatorio.")
    return errors


def read_body(spec: dict[str, tuple[str, bool]], *, multipart=False) -> dict:
    """The request body checked against `spec` (name → (kind, required)).

    A JSON object, or, where `multipart` is allowed, multipart/form-data whose parts are
    read as the same kinds (objects as JSON text). Shape errors are 400; text that cannot
    be stored is 422.
    """
    if multipart and request.mimetype == "multipart/form-data":
        data = {}
        for name in request.form:
            if name in spec:
                data[name] = _coerce_form(spec[name][0], request.form[name], name)
            else:
                data[name] = request.form[name]
    else:
        # parsed here, not by request.get_json: its `silent` lets a RecursionError through
        data = _parse_json(request.get_data(cache=True))
        if not isinstance(data, dict):
            raise BadInput(_("El cuerpo debe ser un objeto JSON."))
    errors = _shape_errors(spec, data)
    if errors:
        raise _bad(errors)
    for name, value in data.items():
        _check_values(value, name)
    return data


def uploads(names=None) -> dict[str, list[UploadedFile]]:
    """Uploaded files by part name (all parts, or only `names`).

    Names and types are left to the service's one upload path: it stores a safe name and
    the type the bytes show, never the Content-Type the caller claimed.
    """
    found: dict[str, list[UploadedFile]] = {}
    if request.mimetype != "multipart/form-data":
        return found
    for name, storage in request.files.items(multi=True):
        if names is not None and name not in names:
            raise _bad({name: _("Propiedad desconocida.")})
        upload = UploadedFile(storage.filename or "", "application/octet-stream", storage.read())
        found.setdefault(name, []).append(upload)
    return found


def _fields_with_files(raw: dict) -> dict:
    """Field values, with each uploaded part given to the file field of the same name."""
    raw = dict(raw)
    for name, files in uploads().items():
        if len(files) != 1:
            message = _("Adjunte un solo archivo.")
            raise ValidationFailed(message, fields={name: message})
        raw[name] = files[0]
    return raw


def _ticket_id(ticket_id: int) -> int:
    if not 1 <= ticket_id <= ID_MAX:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    return ticket_id


def _visible(ticket_id: int, *, relations: bool | str = False) -> Ticket:
    ticket = get_visible_ticket(actor(), _ticket_id(ticket_id), relations=relations)
    if ticket is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    return ticket


def _detail(ticket_id: int, status=200):
    """The ticket as the caller now sees it (read again: effects may have changed it)."""
    ticket = _visible(ticket_id, relations="institution")
    response = jsonify(serializers.ticket_detail(actor(), ticket))
    response.status_code = status
    response.headers["ETag"] = etag(ticket.version)
    return response


def _precondition(ticket_id: int) -> int | None:
    """The version `If-Match` names (412 when the ticket is no longer at it), or None."""
    if "If-Match" not in request.headers:
        return None
    return if_match_version(_visible(ticket_id).version)


# ---------------------------------------------------------------- ticket types


@bp.get("/ticket-types")
def ticket_types():
    user = actor()
    people = services.people_of(user.institution_id)
    items = [
        serializers.ticket_type(t, services.current_version(t), people)
        for t in services.openable_types(user)
    ]
    return jsonify({"items": items})


# ---------------------------------------------------------------- tickets


@bp.post("/tickets")
@idempotent
def open_ticket():
    data = read_body(
        {
            "type": ("str", True),
            "title": ("str", True),
            "fields": ("object", False),
            "on_behalf_of": ("int", False),
        },
        multipart=True,
    )
    raw = _fields_with_files(data.get("fields") or {})
    ticket = services.open_ticket(
        actor(),
        data["type"],
        data["title"],
        raw,
        source="api",
        on_behalf_of=data.get("on_behalf_of"),
    )
    response = _detail(ticket.id, status=201)
    response.headers["Location"] = url_for("api.ticket", ticket_id=ticket.id)
    return response


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    position = paging.decode_cursor(cursor)
    if position is None:
        raise _bad({"cursor": _("Cursor inválido.")})
    return position


def _only_args(*known: str) -> None:
    """Refuse a query parameter the operation does not read (a typo would be ignored)."""
    unknown = {n: _("Parámetro desconocido.") for n in request.args if n not in known}
    if unknown:
        raise _bad(unknown)


def _int_arg(name: str, low: int, high: int) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return None
    value = _parse_int(text)
    if value is None:
        raise _bad({name: _("Debe ser un número entero.")})
    if not low <= value <= high:
        raise _bad({name: _("Debe estar entre %(a)s y %(b)s.", a=low, b=high)})
    return value


def _since_arg() -> dt.datetime | None:
    text = request.args.get("updated_since")
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        message = _("Use una fecha ISO 8601, p. ej. 2025-01-31T12:00:00Z.")
        raise _bad({"updated_since": message}) from None
    return moment


@bp.get("/tickets")
def list_tickets():
    user = actor()
    _only_args("queue", "state", "type", "institution", "updated_since", "cursor", "limit", "q")
    limit = _int_arg("limit", 1, PAGE_MAX) or PAGE_DEFAULT
    query = with_list_relations(visible_tickets(user))
    level = _int_arg("queue", 1, 2)
    if level is not None:
        query = query.where(Ticket.queue_level == level)
    if request.args.get("state"):
        query = query.where(Ticket.state == request.args["state"])
    if request.args.get("type"):
        query = query.where(TicketType.slug == request.args["type"])
    institution = _int_arg("institution", 1, ID_MAX)
    if institution is not None:
        query = query.where(Ticket.institution == institution)
    since = _since_arg()
    if since is not None:
        query = query.where(Ticket.updated_at >= since)
    if request.args.get("q") is not None:
        found = search.matching_ticket_ids(user, request.args["q"])
        if found is None:
            raise _bad({"q": _("Escriba al menos una palabra que no sea demasiado común.")})
        query = query.where(Ticket.id.in_(found))
    if request.args.get("cursor"):
        position = _decode_cursor(request.args["cursor"])
        query = paging.after(query, position, newest_first=False)
    rows = list(query.order_by(*paging.order(newest_first=False)).limit(limit + 1))
    page, more = rows[:limit], len(rows) > limit
    return jsonify(
        {
            "items": [serializers.ticket_summary(t) for t in page],
            "next_cursor": paging.encode_cursor(page[-1]) if more else None,
        }
    )


def _date_arg(name: str) -> dt.date | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _bad({name: _("Use una fecha AAAA-MM-DD.")}) from None


@bp.get("/search")
def search_everything():
    user = actor()
    _only_args("q", "type", "state", "institution", "requester", "desde", "hasta", "page")
    filters = {
        "type": request.args.get("type"),
        "state": request.args.get("state"),
        "institution": _int_arg("institution", 1, ID_MAX),
        "requester": _int_arg("requester", 1, ID_MAX),
        "desde": _date_arg("desde"),
        "hasta": _date_arg("hasta"),
    }
    page = _int_arg("page", 1, search.COUNT_CAP) or 1
    found = search.search(user, request.args.get("q", ""), filters, page=page, per_page=20)
    if found.problem and not found.tickets:
        raise _bad({"q": found.problem})
    return jsonify(serializers.search_results(found))


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id):
    return _detail(ticket_id)


@bp.patch("/tickets/<int:ticket_id>")
def update_ticket(ticket_id):
    data = read_body(
        {"fields": ("object", False), "title": ("str", False), "version": ("int", False)},
        multipart=True,
    )
    version = _precondition(ticket_id)
    version = data.get("version", version)
    if version is None:
        raise _bad({"version": _("Envíe `version` o la cabecera If-Match.")})
    raw = _fields_with_files(data.get("fields") or {})
    services.update_fields(actor(), _ticket_id(ticket_id), raw, version, title=data.get("title"))
    return _detail(ticket_id)


@bp.post("/tickets/<int:ticket_id>/checklist")
@idempotent
def checklist_batch(ticket_id):
    data = read_body({"items": ("list", True), "version": ("int", False)})
    version = data.get("version", _precondition(ticket_id))
    changes = []
    for position, change in enumerate(data["items"]):
        where = f"items[{position}]"
        if not isinstance(change, dict):
            raise _bad({where: _("Debe ser un objeto JSON.")})
        spec = {
            "item": ("str", True),
            "done": ("bool", True),
            "comment": ("str", False),
            "scheduled_at": ("str", False),
        }
        errors = _shape_errors(spec, change)
        if errors:
            raise _bad({f"{where}.{name}": message for name, message in errors.items()})
        changes.append(change)
    set_checklist_items(actor(), _ticket_id(ticket_id), changes, expected_version=version)
    return _detail(ticket_id)


@bp.post("/tickets/<int:ticket_id>/checklist/<item>")
@idempotent
def checklist_item(ticket_id, item):
    data = read_body(
        {"done": ("bool", True), "comment": ("str", False), "scheduled_at": ("str", False)},
        multipart=True,
    )
    version = _precondition(ticket_id)
    files = uploads({"attachment"}).get("attachment") or []
    if len(files) > 1:
        message = _("Adjunte un solo archivo.")
        raise ValidationFailed(message, fields={"attachment": message})
    change = {
        "item": item,
        "done": data["done"],
        "comment": data.get("comment"),
        "attachment": files[0] if files else None,
        "scheduled_at": data.get("scheduled_at"),
    }
    set_checklist_items(actor(), _ticket_id(ticket_id), [change], expected_version=version)
    return _detail(ticket_id)


@bp.post("/tickets/<int:ticket_id>/transitions")
@idempotent
def take_transition(ticket_id):
    data = read_body({"name": ("str", True), "comment": ("str", False), "version": ("int", False)})
    version = data.get("version", _precondition(ticket_id))
    services.transition(
        actor(),
        _ticket_id(ticket_id),
        data["name"],
        comment=data.get("comment"),
        expected_version=version,
    )
    return _detail(ticket_id)


@bp.put("/tickets/<int:ticket_id>/assignee")
def assign(ticket_id):
    data = read_body({"assignee": ("int_or_null", True), "version": ("int", False)})
    version = data.get("version", _precondition(ticket_id))
    services.assign(actor(), _ticket_id(ticket_id), data["assignee"], version)
    return _detail(ticket_id)


@bp.post("/tickets/<int:ticket_id>/comments")
@idempotent
def add_comment(ticket_id):
    data = read_body(
        {"body": ("str", False), "internal": ("bool", False), "then": ("str", False)},
        multipart=True,
    )
    _precondition(ticket_id)
    files = uploads({"files"}).get("files") or []
    then = (data.get("then") or "").strip()
    if then:
        # "responder y resolver": the answer is the transition's comment, in one step
        services.answer_and_transition(
            actor(),
            _ticket_id(ticket_id),
            then,
            data.get("body") or "",
            files=files,
            internal=data.get("internal", False),
            source="api",
        )
        row = (
            Comment.select()
            .where(Comment.ticket == ticket_id, Comment.author == actor().id)
            .order_by(Comment.id.desc())
            .first()
        )
    else:
        row = services.add_comment(
            actor(),
            _ticket_id(ticket_id),
            data.get("body") or "",
            internal=data.get("internal", False),
            files=files,
            source="api",
        )
    ticket = _visible(ticket_id)
    attachments = [
        serializers.attachment(a)
        for a in visible_attachments(actor(), ticket).where(Attachment.comment == row.id)
    ]
    names = {actor().id: actor().full_name}
    response = jsonify(serializers.comment(row, names, attachments))
    response.status_code = 201
    return response


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
def attachment(ticket_id, attachment_id):
    ticket = _visible(ticket_id)
    row = (
        visible_attachments(actor(), ticket)
        .select(Attachment, Blob)
        .join(Blob)
        .where(Attachment.id == min(attachment_id, ID_MAX))
        .first()
    )
    if row is None:
        raise NotFound(_("Ese adjunto no existe o no está a su alcance."))
    return download_response(row)


# ---------------------------------------------------------------- institutions


def _institution_id(institution_id: int) -> int:
    if not 1 <= institution_id <= ID_MAX:
        raise NotFound(_("La institución no existe o no está a su alcance."))
    return institution_id


@bp.get("/institutions")
def institutions():
    _only_args()
    rows = visible_institutions(actor()).order_by(Institution.sigla, Institution.id)
    return jsonify({"items": [serializers.institution_summary(i) for i in rows]})


@bp.get("/institutions/<int:institution_id>")
def institution(institution_id):
    # the service behind the UI's institution page decides who may see it
    overview = services.institution_overview(actor(), _institution_id(institution_id))
    return jsonify(serializers.institution_detail(overview["institution"]))


@bp.patch("/institutions/<int:institution_id>")
def update_institution(institution_id):
    data = read_body({"name": ("str", False), "phone": ("str", False), "address": ("str", False)})
    changed = rollout.update_institution(actor(), _institution_id(institution_id), data)
    return jsonify(serializers.institution_detail(changed))


# ---------------------------------------------------------------- plantilla de seguimiento


@bp.get("/institutions/<int:institution_id>/tracking")
def tracking(institution_id):
    overview = services.institution_overview(actor(), _institution_id(institution_id))
    return jsonify({"items": [serializers.tracking_item(i) for i in overview["tracking"]]})


@bp.post("/institutions/<int:institution_id>/tracking")
@idempotent
def add_tracking_item(institution_id):
    data = read_body({"label": ("str", True)})
    item = services.add_tracking_item(actor(), _institution_id(institution_id), data["label"])
    response = jsonify(serializers.tracking_item(item))
    response.status_code = 201
    return response


def _tracking_item_of(institution_id: int, item_id: int) -> int:
    """The item's id, when it is one of this institution's (the service checks the rest)."""
    if (
        not 1 <= item_id <= ID_MAX
        or not TrackingItem.select()
        .where(
            (TrackingItem.id == item_id)
            & (TrackingItem.institution == _institution_id(institution_id))
        )
        .exists()
    ):
        raise NotFound(_("Ese ítem no existe."))
    return item_id


@bp.patch("/institutions/<int:institution_id>/tracking/<int:item_id>")
def set_tracking_item(institution_id, item_id):
    data = read_body({"met": ("bool", True), "note": ("str", False)})
    services.institution_overview(actor(), _institution_id(institution_id))
    item = services.set_tracking_item(
        actor(), _tracking_item_of(institution_id, item_id), data["met"], note=data.get("note")
    )
    return jsonify(serializers.tracking_item(item))


@bp.delete("/institutions/<int:institution_id>/tracking/<int:item_id>")
def remove_tracking_item(institution_id, item_id):
    services.institution_overview(actor(), _institution_id(institution_id))
    services.remove_tracking_item(actor(), _tracking_item_of(institution_id, item_id))
    return "", 204


@bp.get("/tracking-template")
def tracking_template():
    _only_args()
    rows = DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)
    return jsonify({"items": [serializers.default_tracking_item(i) for i in rows]})


@bp.post("/tracking-template")
@idempotent
def add_default_tracking_item():
    data = read_body({"label": ("str", True)})
    item = services.add_default_tracking_item(actor(), data["label"])
    response = jsonify(serializers.default_tracking_item(item))
    response.status_code = 201
    return response


@bp.delete("/tracking-template/<int:item_id>")
def remove_default_tracking_item(item_id):
    query = DefaultTrackingItem.select().where(DefaultTrackingItem.id == min(item_id, ID_MAX))
    if not 1 <= item_id <= ID_MAX or not query.exists():
        raise NotFound(_("Ese ítem no existe."))
    services.remove_default_tracking_item(actor(), item_id)
    return "", 204


# ---------------------------------------------------------------- people


PERSON_FIELDS = ("full_name", "cedula", "email", "role", "cargo", "phone", "mobile")


def _person_id(person_id: int) -> int:
    if not 1 <= person_id <= ID_MAX:
        raise NotFound(_("Esa persona no existe o no está a su alcance."))
    return person_id


def _visible_person(person_id: int) -> User:
    person = visible_users(actor()).where(User.id == _person_id(person_id)).first()
    if person is None:
        raise NotFound(_("Esa persona no existe o no está a su alcance."))
    return person


@bp.get("/me")
def me():
    _only_args()
    return jsonify(serializers.user_detail(actor()))


@bp.get("/people")
def people():
    _only_args("role", "institution", "active", "after", "limit")
    limit = _int_arg("limit", 1, PAGE_MAX) or PAGE_DEFAULT
    query = visible_users(actor())
    if request.args.get("role"):
        query = query.where(User.role == request.args["role"])
    institution_id = _int_arg("institution", 1, ID_MAX)
    if institution_id is not None:
        query = query.where(User.institution == institution_id)
    if request.args.get("active"):
        if request.args["active"] not in _BOOLEANS:
            raise _bad({"active": _("Debe ser true o false.")})
        query = query.where(User.active == _BOOLEANS[request.args["active"]])
    after = _int_arg("after", 0, ID_MAX)
    if after is not None:
        query = query.where(User.id > after)
    rows = list(query.order_by(User.id).limit(limit + 1))
    page, more = rows[:limit], len(rows) > limit
    return jsonify(
        {
            "items": [serializers.user_detail(p) for p in page],
            "next_after": page[-1].id if more else None,
        }
    )


@bp.get("/people/<int:person_id>")
def person(person_id):
    return jsonify(serializers.user_detail(_visible_person(person_id)))


@bp.post("/people")
@idempotent
def create_person():
    spec = {
        name: ("str", name in ("full_name", "cedula", "email", "role")) for name in PERSON_FIELDS
    }
    spec["institution"] = ("int", False)
    data = read_body(spec)
    created = services.create_user(
        actor(),
        full_name=data["full_name"],
        cedula=data["cedula"],
        email=data["email"],
        role=data["role"],
        institution_id=data.get("institution", actor().institution_id),
        cargo=data.get("cargo", ""),
        phone=data.get("phone", ""),
        mobile=data.get("mobile", ""),
    )
    response = jsonify(serializers.user_detail(created))
    response.status_code = 201
    response.headers["Location"] = url_for("api.person", person_id=created.id)
    return response


@bp.patch("/people/<int:person_id>")
def update_person(person_id):
    spec = {name: ("str", False) for name in PERSON_FIELDS}
    spec["active"] = ("bool", False)
    data = read_body(spec)
    updated = services.update_user(actor(), _person_id(person_id), data)
    return jsonify(serializers.user_detail(updated))


@bp.post("/people/<int:person_id>/invitation")
@idempotent
def invite_person(person_id):
    read_body({})
    invited = resend_invitation(actor(), _person_id(person_id))
    response = jsonify(serializers.user_detail(invited))
    response.status_code = 202
    return response


# ---------------------------------------------------------------- tokens


@bp.get("/tokens")
def tokens():
    _only_args("user")
    owner = request.args.get("user")
    if owner is None:
        rows = tokens_of(actor())
    else:
        number = _parse_int(owner)
        if number is None or not 0 < number <= ID_MAX:
            raise _bad({"user": _("Debe ser un número entero.")})
        rows = tokens_of(actor(), owner_id=number)
    return jsonify({"items": [serializers.api_token(t) for t in rows]})


@bp.post("/tokens")
@idempotent
def create_api_token():
    data = read_body({"name": ("str", False)})
    row, secret = create_token(actor(), name=data.get("name", ""))
    response = jsonify(serializers.api_token(row, secret))
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    # a replay answers the record without the secret: only its hash is ever stored
    g.idempotent_body = serializers.api_token(row)
    return response


@bp.delete("/tokens/<int:token_id>")
def revoke_api_token(token_id):
    row = revoke_token(actor(), token_id)
    return jsonify(serializers.api_token(row))


# ---------------------------------------------------------------- description


@bp.get("/openapi.json")
def openapi():
    from api.openapi import spec

    return jsonify(spec())


# routes in their own modules register on `bp` when imported
from api import bulk  # noqa: E402, F401
