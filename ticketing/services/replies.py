"""Canned replies (respuestas predefinidas): writing them, and filling one from a ticket.

The AGQ writes SGE's replies (no institution: offered to everyone who answers tickets), an
AIQ their institution's; focal users use both. A reply's body is Markdown with
placeholders filled from the ticket in Jinja's sandbox. Only a small, loop-free part of
Jinja is accepted (names, attributes, `if`, a few text filters), checked when the reply is
saved, so filling one costs no more than its length and can reach nothing but the values
it is given.
"""

from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ticketing.errors import NotFound, StaleVersion, ValidationFailed
from ticketing.fields.display import display_value
from ticketing.models import AGQ, AIQ, CannedReply, TicketType, User, now
from ticketing.outbox import unit_of_work
from ticketing.services.common import definition, is_agent, people_for, whole_number
from ticketing.urls import public_url
from ticketing.visibility import editable_replies, visible_replies

NAME_MAX = 120
BODY_MAX = 20_000
OFFERED_MAX = 100  # replies the comment box offers on one ticket, by name
FIELDS = ("name", "body", "type_slugs", "transition", "internal", "active")

# the part of Jinja a reply may use: no loops, macros, includes or arithmetic
_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.Not,
    nodes.And,
    nodes.Or,
)
_FILTERS = {"default", "upper", "lower", "title", "capitalize", "trim", "truncate"}
_TESTS = {"defined", "undefined", "none", "string"}

_env = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def placeholders() -> list[tuple[str, str]]:
    """The placeholders a reply may use, with what each holds (the form's help lists them)."""
    return [
        ("solicitante", _("nombre de quien pidió el ticket")),
        ("referencia", _("referencia del ticket (MESA-…)")),
        ("titulo", _("título del ticket")),
        ("estado", _("estado actual")),
        ("tipo", _("tipo de ticket")),
        ("institucion", _("sigla de la institución")),
        ("asignado", _("persona asignada")),
        ("agente", _("quien responde")),
        ("enlace", _("dirección del ticket")),
        ("campos.<nombre>", _("valor de un campo del ticket, p. ej. {{ campos.modulo }}")),
    ]


def check_template(body: str) -> str | None:
    """Why `body` cannot be a reply's text (None: it can)."""
    try:
        tree = _env.parse(body)
    except TemplateSyntaxError as exc:
        return _("Marcador mal escrito en la línea %(n)s: %(e)s", n=exc.lineno, e=exc.message)
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _NODES):
            return _("Solo se admiten marcadores {{ … }} y condiciones {% if %}: nada de bucles.")
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            return _("El filtro «%(f)s» no está disponible.", f=node.name)
        if isinstance(node, nodes.Test) and node.name not in _TESTS:
            return _("La prueba «%(f)s» no está disponible.", f=node.name)
    return None


def clean_reply(data: dict) -> dict:
    """A reply's values, checked; refusals per field (ValidationFailed)."""
    errors: dict[str, str] = {}
    values: dict = {}
    if "name" in data:
        values["name"] = " ".join(str(data.get("name") or "").split())
        if not values["name"]:
            errors["name"] = _("Escriba un nombre.")
        elif len(values["name"]) > NAME_MAX:
            errors["name"] = _("Máximo %(n)s caracteres.", n=NAME_MAX)
    if "body" in data:
        values["body"] = str(data.get("body") or "").replace("\r\n", "\n").strip()
        if not values["body"]:
            errors["body"] = _("Escriba el texto de la respuesta.")
        elif len(values["body"]) > BODY_MAX:
            errors["body"] = _("Máximo %(n)s caracteres.", n=BODY_MAX)
        else:
            problem = check_template(values["body"])
            if problem:
                errors["body"] = problem
    slugs = data.get("type_slugs")
    if slugs is not None:
        slugs = [str(s).strip() for s in (slugs if isinstance(slugs, list) else [slugs]) if s]
        known = {t.slug for t in TicketType.select(TicketType.slug)}
        unknown = [s for s in slugs if s not in known]
        if unknown:
            errors["type_slugs"] = _("Tipo de ticket desconocido: %(s)s", s=", ".join(unknown))
        values["type_slugs"] = sorted(set(slugs))
    if "transition" in data:
        values["transition"] = str(data.get("transition") or "").strip()
    for flag in ("internal", "active"):
        if flag in data:
            values[flag] = bool(data[flag])
    if values.get("transition") and not errors.get("type_slugs"):
        offered = transitions_of(values.get("type_slugs") or [])
        if values["transition"] not in offered:
            errors["transition"] = _("Ninguno de los tipos elegidos tiene esa acción.")
    if values.get("transition") and values.get("internal"):
        errors["internal"] = _("Una respuesta que cambia el estado no puede ser nota interna.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    return values


def transitions_of(type_slugs: list[str]) -> dict[str, str]:
    """Transition name → label of the current versions of these types (all types: none given)."""
    from ticketing.definitions import current_version

    query = TicketType.select()
    if type_slugs:
        query = query.where(TicketType.slug.in_(type_slugs))
    found: dict[str, str] = {}
    for ticket_type in query.order_by(TicketType.order, TicketType.name):
        version = current_version(ticket_type)
        for tr in (version.definition if version else {}).get("transitions", []):
            found.setdefault(tr["name"], tr["label"])
    return found


def editable_reply(actor, reply_id) -> CannedReply:
    reply_id = whole_number(reply_id)
    reply = (
        editable_replies(actor).where(CannedReply.id == reply_id).first()
        if reply_id is not None
        else None
    )
    if reply is None:
        raise NotFound(_("La respuesta no existe o no está a su alcance."))
    return reply


def may_write_replies(actor) -> bool:
    return getattr(actor, "role", None) in (AGQ, AIQ) and actor.active


def create_reply(actor, **data) -> CannedReply:
    """A new reply: SGE's when the AGQ writes it, the AIQ's institution's otherwise."""
    if not may_write_replies(actor):
        raise NotFound(_("La respuesta no existe o no está a su alcance."))
    values = clean_reply({"type_slugs": [], "transition": "", **data, "name": data.get("name")})
    values.setdefault("body", "")
    if not values["body"]:
        raise ValidationFailed(
            _("Escriba el texto de la respuesta."),
            fields={"body": _("Escriba el texto de la respuesta.")},
        )
    with unit_of_work():
        return CannedReply.create(
            **values,
            institution=None if actor.role == AGQ else actor.institution_id,
            author=actor.id,
            updated_at=now(),
        )


def update_reply(actor, reply_id, data: dict, expected_version) -> CannedReply:
    """Change a reply's values (the keys `data` has), refusing a stale edit."""
    reply = editable_reply(actor, reply_id)
    merged = {
        "type_slugs": reply.type_slugs,
        "transition": reply.transition,
        "internal": reply.internal,
        **{k: v for k, v in (data or {}).items() if k in FIELDS},
    }
    values = clean_reply(merged)
    expected = whole_number(expected_version)
    stale = StaleVersion(
        _("Otra persona modificó esta respuesta mientras usted la editaba. Recargue la página.")
    )
    if expected is None or expected != reply.version:
        raise stale
    with unit_of_work():
        rows = (
            CannedReply.update(**values, updated_at=now(), version=expected + 1)
            .where((CannedReply.id == reply.id) & (CannedReply.version == expected))
            .execute()
        )
        if rows != 1:
            raise stale
    return CannedReply.get_by_id(reply.id)


def offered_replies(actor, ticket) -> list[CannedReply]:
    """The active replies `actor` may use on `ticket`, by name (only for who answers it)."""
    if not is_agent(actor, ticket):
        return []
    slug = definition(ticket)["slug"]
    rows = (
        visible_replies(actor)
        .where(CannedReply.active == True)
        .order_by(CannedReply.name, CannedReply.id)
        .limit(OFFERED_MAX)
    )
    return [r for r in rows if not r.type_slugs or slug in r.type_slugs]


def reply_context(actor, ticket) -> dict:
    """The values a reply's placeholders are filled with, as the requester reads them (in
    their language: the answer is for them, whatever language the person answering uses)."""
    defn = definition(ticket)
    people = people_for(defn, ticket.institution_id)
    found = {
        u.id: u
        for u in User.select(User.id, User.full_name, User.locale).where(
            User.id.in_([ticket.requester_id or 0, ticket.assignee_id or 0])
        )
    }
    requester = found.get(ticket.requester_id)
    language = (requester.locale if requester is not None else None) or "es"
    english = language == "en"
    with force_locale(language):
        fields = {
            f["name"]: display_value(f, ticket.fields.get(f["name"]), people)
            for f in defn["fields"]
        }
    state = next((s for s in defn["states"] if s["key"] == ticket.state), {})
    assignee = found.get(ticket.assignee_id)
    return {
        "solicitante": requester.full_name if requester is not None else "",
        "referencia": ticket.reference,
        "titulo": ticket.title,
        "estado": (state.get("label_en") if english else "") or state.get("label", ticket.state),
        "tipo": (defn.get("name_en") if english else "") or defn.get("name", ""),
        "institucion": ticket.institution.sigla if ticket.institution_id else "",
        "asignado": assignee.full_name if assignee is not None else "",
        "agente": getattr(actor, "full_name", ""),
        "enlace": public_url(f"/ticket/{ticket.id}/"),
        "campos": fields,
    }


def fill_reply(reply: CannedReply, context: dict) -> str:
    """A reply's text with its placeholders filled (an unknown one is left empty)."""
    try:
        return _env.from_string(reply.body).render(context)
    except (SecurityError, TemplateSyntaxError, TypeError, ValueError):
        return reply.body  # a reply saved before a rule tightened: shown as written


def replies_for(actor, ticket, transitions=None) -> list[dict]:
    """What the comment box offers: each reply filled from `ticket`, with its transition
    when the ticket can take it now (`transitions`: `available_transitions`, if at hand)."""
    from ticketing.services.workflow import available_transitions

    replies = offered_replies(actor, ticket)
    if not replies:
        return []
    context = reply_context(actor, ticket)
    takeable = {
        tr["name"]: tr["label"] for tr in available_transitions(actor, ticket) if tr["allowed"]
    }
    return [
        {
            "id": r.id,
            "name": r.name,
            "text": fill_reply(r, context),
            "internal": r.internal,
            "transition": r.transition if r.transition in takeable else "",
            "transition_label": takeable.get(r.transition, ""),
            "shared": r.institution_id is None,
        }
        for r in replies
    ]
