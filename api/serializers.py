"""Read models of the API: tickets, types and institutions as plain JSON-ready dicts.

These only read; every query of tickets, comments, events and attachments starts from
`ticketing.visibility`.
"""

import datetime as dt

from ticketing import services
from ticketing.definitions import ticket_definition, version_number
from ticketing.models import (
    STAGE_LABELS,
    Attachment,
    Institution,
    StageChange,
    Ticket,
    TicketType,
    TicketTypeVersion,
    User,
)
from ticketing.urls import public_url
from ticketing.visibility import (
    visible_attachments,
    visible_comments,
    visible_events,
    visible_tickets,
)


def iso(value) -> str | None:
    """A stored naive-UTC timestamp as RFC 3339 text (`...Z`); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    return None


def person(user_id, names: dict[int, str]) -> dict | None:
    if not user_id:
        return None
    return {"id": user_id, "name": names.get(user_id, "")}


def user_ref(user) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.full_name}


def field_def(field: dict, people: dict[int, str] | None = None) -> dict:
    """A field as a client needs it to fill it in."""
    if field["kind"] == "person":
        choices = [{"value": str(pid), "label": name} for pid, name in (people or {}).items()]
    else:
        choices = [{"value": str(c[0]), "label": str(c[1])} for c in field.get("choices") or []]
    options = field.get("options") or {}
    return {
        "name": field["name"],
        "kind": field["kind"],
        "label": field["label"],
        "label_en": field.get("label_en") or "",
        "help_text": field.get("help_text") or "",
        "required": bool(field.get("required")),
        "choices": choices,
        "multiple": bool(options.get("multiple")) or field["kind"] == "multichoice",
    }


def ticket_type(ticket_type: TicketType, version: TicketTypeVersion, people) -> dict:
    """A type the caller may open, from its current published version."""
    defn = version.definition
    return {
        "slug": ticket_type.slug,
        "name": defn["name"],
        "name_en": defn.get("name_en") or "",
        "description": defn.get("description") or "",
        "category": defn.get("category") or "support",
        "queue_level": defn.get("queue_level") or 1,
        "deadline_days": defn.get("deadline_days"),
        "version": version.number,
        "fields": [field_def(f, people) for f in defn["fields"]],
    }


def _state_label(defn: dict, key: str) -> str:
    return next((s["label"] for s in defn["states"] if s["key"] == key), key)


def ticket_summary(ticket: Ticket, names: dict[int, str] | None = None) -> dict:
    """A ticket as a list row: what it is, where it is, who has it.

    `names` (id -> full name) stands in for joined requester and assignee rows.
    """
    defn = ticket_definition(ticket)
    if names is None:
        requester = user_ref(ticket.requester)
        assignee = user_ref(ticket.assignee) if ticket.assignee_id else None
    else:
        requester = person(ticket.requester_id, names)
        assignee = person(ticket.assignee_id, names)
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "title": ticket.title,
        "type": defn["slug"],
        "type_name": defn["name"],
        "state": ticket.state,
        "state_label": _state_label(defn, ticket.state),
        "state_category": ticket.state_category,
        "queue_level": ticket.queue_level,
        "institution": {"id": ticket.institution.id, "sigla": ticket.institution.sigla},
        "requester": requester,
        "assignee": assignee,
        "due_at": iso(ticket.due_at),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "closed_at": iso(ticket.closed_at),
        "version": ticket.version,
    }


def attachment(row: Attachment) -> dict:
    return {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "internal": row.internal,
        "field": row.field_name,
        "checklist_item": row.checklist_key,
        "comment_id": row.comment_id,
        "created_at": iso(row.created_at),
    }


def comment(row, names: dict[int, str], attachments: list[dict]) -> dict:
    return {
        "id": row.id,
        "author": person(row.author_id, names),
        "body": row.body,
        "internal": row.internal,
        "source": row.source,
        "created_at": iso(row.created_at),
        "attachments": attachments,
    }


def _checklist(defn: dict, ticket: Ticket) -> list[dict]:
    items = []
    for item in defn.get("checklist") or []:
        state = ticket.checklist.get(item["key"]) or {}
        done = bool(state.get("done"))
        items.append(
            {
                "key": item["key"],
                "label": item["label"],
                "label_en": item.get("label_en") or "",
                "required": bool(item.get("required")),
                "evidence": item.get("evidence") or "none",
                "schedulable": bool(item.get("schedulable")),
                "hours": item.get("hours"),
                "done": done,
                "by": {"id": state["by"], "name": state.get("by_name") or ""}
                if state.get("by")
                else None,
                "at": iso(state.get("at")),
                "comment": state.get("comment") or "",
                "scheduled_at": state.get("scheduled_at"),
                "attachment_id": state.get("attachment_id"),
            }
        )
    return items


def _transition(tr: dict) -> dict:
    return {
        "name": tr["name"],
        "label": tr["label"],
        "label_en": tr.get("label_en") or "",
        "to": tr["to"],
        "allowed": bool(tr["allowed"]),
        "reason": str(tr["reason"]) if tr.get("reason") else None,
        "needs_comment": bool(tr.get("needs_comment")),
    }


def _event(row, names: dict[int, str]) -> dict:
    return {
        "id": row.id,
        "at": iso(row.at),
        "kind": row.kind,
        "actor": person(row.actor_id, names),
        "data": row.data or {},
    }


def ticket_detail(actor, ticket: Ticket) -> dict:
    """Everything `actor` may read of one visible ticket."""
    defn = ticket_definition(ticket)
    people = (
        services.people_of(ticket.institution_id)
        if any(f["kind"] == "person" for f in defn["fields"])
        else {}
    )
    comments = list(visible_comments(actor, ticket))
    events = list(visible_events(actor, ticket))
    attachments = [attachment(a) for a in visible_attachments(actor, ticket)]
    ids = {c.author_id for c in comments} | {e.actor_id for e in events}
    ids |= {ticket.requester_id, ticket.assignee_id}
    ids.discard(None)
    names = {
        u.id: u.full_name
        for u in User.select(User.id, User.full_name).where(User.id.in_(ids | {0}))
    }
    by_comment: dict[int, list[dict]] = {}
    for a in attachments:
        if a["comment_id"]:
            by_comment.setdefault(a["comment_id"], []).append(a)
    linked = [
        {
            "id": t.id,
            "reference": t.reference,
            "title": t.title,
            "relation": "parent" if t.id == ticket.parent_id else "child",
        }
        for t in visible_tickets(actor)
        .where((Ticket.parent == ticket.id) | (Ticket.id == (ticket.parent_id or 0)))
        .order_by(Ticket.id)
    ]
    detail = ticket_summary(ticket, names)
    detail.update(
        {
            "type_version": version_number(ticket),
            "fields": dict(ticket.fields),
            "field_defs": [field_def(f, people) for f in defn["fields"]],
            "checklist": _checklist(defn, ticket),
            "transitions": [_transition(t) for t in services.available_transitions(actor, ticket)],
            "comments": [comment(c, names, by_comment.get(c.id, [])) for c in comments],
            "attachments": attachments,
            "history": [_event(e, names) for e in events],
            "linked": linked,
        }
    )
    return detail


def institution_detail(institution: Institution) -> dict:
    """An institution's data and the date it reached each rollout stage."""
    changes = (
        StageChange.select()
        .where(StageChange.institution == institution.id)
        .order_by(StageChange.reached_at, StageChange.id)
    )
    return {
        "id": institution.id,
        "name": institution.name,
        "sigla": institution.sigla,
        "ruc": institution.ruc,
        "phone": institution.phone,
        "address": institution.address,
        "is_sge": institution.is_sge,
        "stage": institution.stage,
        "stage_label": STAGE_LABELS.get(institution.stage, institution.stage),
        "stage_since": iso(institution.stage_since),
        "created_at": iso(institution.created_at),
        "stage_history": [
            {
                "stage": c.stage,
                "label": STAGE_LABELS.get(c.stage, c.stage),
                "reached_at": iso(c.reached_at),
            }
            for c in changes
        ],
    }


def search_results(found) -> dict:
    """What a search found: a page of tickets (with snippets) and the best articles."""
    return {
        "total": found.ticket_total,
        "total_capped": found.ticket_capped,
        "page": found.page,
        "next_page": found.page + 1 if found.has_next else None,
        "tickets": [
            {**ticket_summary(hit.ticket), "snippet": str(hit.snippet), "rank": hit.rank}
            for hit in found.tickets
        ],
        "articles": [
            {
                "id": hit.article.id,
                "title": hit.article.title,
                "category": hit.article.category,
                "language": hit.article.language,
                "snippet": str(hit.snippet),
                "url": public_url(f"/ayuda/{hit.article.id}"),
            }
            for hit in found.articles
        ],
    }


def user_detail(user: User) -> dict:
    """A person as the people the caller may see are listed (never a secret of theirs)."""
    return {
        "id": user.id,
        "full_name": user.full_name,
        "cedula": user.cedula,
        "email": user.email,
        "role": user.role,
        "institution": {"id": user.institution_id, "sigla": user.institution.sigla},
        "cargo": user.cargo,
        "phone": user.phone,
        "mobile": user.mobile,
        "active": user.active,
        "locale": user.locale,
        "created_at": iso(user.created_at),
    }


def institution_summary(institution: Institution) -> dict:
    return {
        "id": institution.id,
        "name": institution.name,
        "sigla": institution.sigla,
        "stage": institution.stage,
        "stage_since": iso(institution.stage_since),
    }


def tracking_item(item) -> dict:
    """An item of an institution's plantilla de seguimiento."""
    return {
        "id": item.id,
        "label": item.label,
        "label_en": item.label_en,
        "order": item.order,
        "met": item.met,
        "met_by": item.met_by_id,
        "met_at": iso(item.met_at),
        "note": item.note,
    }


def default_tracking_item(item) -> dict:
    return {"id": item.id, "label": item.label, "label_en": item.label_en, "order": item.order}


def api_token(row, secret: str | None = None) -> dict:
    """A token's record; the secret only in the answer that made it."""
    return {
        "id": row.id,
        "name": row.name,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "secret": secret,
    }
