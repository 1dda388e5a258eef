"""Generated isolation test: every URL rule × every role × another institution's objects.

For each registered route this sends every method it accepts, filling its arguments with
the ids of institution B's objects, as a user of institution A (or the AGQ, for B's
first-level ticket). A response must not carry B's data and nothing of B may change.
A route whose arguments have no case here fails the test, so a new route needs one.
B's knowledge-base articles are probed the same way: its published article is B's own
(A's people never read it; the AGQ and B's people do), its draft is for B's editors only.
"""

import hashlib
import io
import secrets

import pytest

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.fields import UploadedFile
from ticketing.models import (
    ApiToken,
    Article,
    ArticleVote,
    Attachment,
    BusinessCalendar,
    CalendarDay,
    CannedReply,
    Comment,
    Institution,
    Notice,
    Outbox,
    Queue,
    Ticket,
    TicketEvent,
    TrackingItem,
    User,
    WebhookDelivery,
)
from ticketing.services.webhooks import create_endpoint

# A's roles and the AGQ against B's ticket; B's own other internal user (who must not see
# a colleague's ticket); and the ticket's requester, who must not see its internal note
ATTACKERS = ["interno", "focal", "aiq", "agq", "interno2_b", "interno_b"]
SAME_INSTITUTION = {"interno2_b", "interno_b"}
SKIP_ENDPOINTS = {"static", "admin.static", "mesa_ui.static"}
# routes that search by `q` (or `search`): each is also probed with words of B's ticket
SEARCHES = {
    "search.index",
    "api.search_everything",
    "api.list_tickets",
    "tickets.index_view",
    "my_tickets.index_view",
}


def _world():
    """Institution B's ticket (first level), with a comment, an attachment and markers."""
    marker = "SECRETO-" + secrets.token_hex(6)
    tenant = "PRIVADO-" + secrets.token_hex(6)
    requester = user("interno_b")
    # SGE's webhook endpoint: B's first-level ticket must never reach its deliveries
    # (port 9 on loopback: a delivery attempted by mistake is refused at once)
    webhook = create_endpoint(user("agq"), url="https://127.0.0.1:9/mesa")
    ticket = make_ticket(
        requester,
        title=f"{marker} título",
        fields={
            "descripcion": f"{marker} descripción",
            "adjunto": UploadedFile("captura.txt", "text/plain", f"{marker} adjunto".encode()),
        },
    )
    services.add_comment(user("focal_b"), ticket.id, f"{marker} comentario")
    services.add_comment(user("focal_b"), ticket.id, f"{marker} nota", internal=True)
    note_marker = "NOTA-" + secrets.token_hex(6)
    services.add_comment(
        user("focal_b"),
        ticket.id,
        f"{note_marker} nota interna",
        internal=True,
        files=[UploadedFile("interna.txt", "text/plain", f"{note_marker} archivo".encode())],
    )
    colleague = second_internal_user_of_b()
    b = Institution.get(Institution.sigla == "INSTB")
    Institution.update(address=f"{tenant} dirección").where(Institution.id == b.id).execute()
    User.update(cargo=f"{tenant} cargo").where(User.institution == b.id).execute()
    TrackingItem.update(note=f"{tenant} nota").where(TrackingItem.institution == b.id).execute()
    raw = secrets.token_urlsafe(24)
    token = ApiToken.create(
        user=requester, name=f"{tenant} token", token_hash=hashlib.sha256(raw.encode()).hexdigest()
    )
    attachment = Attachment.get((Attachment.ticket == ticket.id) & (Attachment.internal == False))
    # one word only B's article holds: a search for it must find nothing for A's people
    article_word = "".join(secrets.choice("bcdfghjklmnpqrstvxz") for _ in range(12))
    article = services.create_article(
        user("aiq_b"),
        title=f"{tenant} artículo",
        body=f"{tenant} cuerpo {article_word} del artículo",
        tags=[f"{tenant} etiqueta"],
        category="Propios de B",
        language="es",
        status="published",
    )
    draft_marker = "BORRADOR-" + secrets.token_hex(6)
    draft = services.create_article(
        user("focal_b"),
        title=f"{draft_marker} borrador",
        body=f"{draft_marker} cuerpo {article_word}",
        tags=[],
        category="Propios de B",
        language="es",
        status="draft",
    )
    # B's own canned reply: the tenant marker in its name and text
    reply = services.create_reply(
        user("aiq_b"), name=f"{tenant} respuesta", body=f"{tenant} texto {{{{ solicitante }}}}"
    )
    # B's queue's calendar, with a declared day of its own
    b_queue = Queue.get(Queue.institution == b.id)
    b_day = services.declare_day(
        user("aiq_b"), b_queue.id, "2026-03-06", working=False, label=f"{tenant} día"
    )
    return {
        "queue": b_queue,
        "calendar_day": b_day,
        "reply": reply,
        "marker": marker,
        "note_marker": note_marker,
        "internal_attachment": Attachment.get(
            (Attachment.ticket == ticket.id) & (Attachment.internal == True)
        ),
        "colleague": colleague,
        "tenant_marker": tenant,
        "ticket": Ticket.get_by_id(ticket.id),
        "attachment": attachment,
        "institution": b,
        "user": requester,
        "token": token,
        "outbox": Outbox.select().where(Outbox.ticket == ticket.id).first(),
        "webhook": webhook,
        "webhook_delivery": WebhookDelivery.select()
        .where(WebhookDelivery.ticket == ticket.id)
        .first(),
        "tracking": TrackingItem.select().where(TrackingItem.institution == b.id).first(),
        "article": article,
        "draft": draft,
        # what B's requester was told in the app (the bell)
        "notice": Notice.select().where(Notice.user == requester.id).order_by(Notice.id).first(),
        # the internal note's notice to B's AIQ: its text carries the note's marker
        "staff_notice": Notice.select()
        .where((Notice.user == user("aiq_b").id) & (Notice.event == "comment_internal"))
        .order_by(Notice.id.desc())
        .first(),
        "draft_marker": draft_marker,
        "article_word": article_word,
    }


def _article_state(article_id):
    row = Article.get_by_id(article_id)
    votes = ArticleVote.select().where(ArticleVote.article == article_id).count()
    return (row.title, row.body, row.tags, row.status, row.version, row.helpful, votes)


def second_internal_user_of_b():
    """Another internal user of B: same institution as the requester, not the requester."""
    from tests.conftest import _password_hash

    person = services.create_user(
        services.SYSTEM,
        full_name="INTERNO2_B INSTB",
        cedula="1710000082",
        email="interno2_b@instb.ec",
        role="interno",
        institution_id=user("interno_b").institution_id,
        invite=False,
    )
    User.update(password_hash=_password_hash()).where(User.id == person.id).execute()
    return person


def _notes(world):
    """The ticket's internal notes and files: what its requester may never add to or read."""
    ticket_id = world["ticket"].id
    return {
        "notes": [
            (c.id, c.body)
            for c in Comment.select()
            .where((Comment.ticket == ticket_id) & (Comment.internal == True))
            .order_by(Comment.id)
        ],
        "internal_files": Attachment.select()
        .where((Attachment.ticket == ticket_id) & (Attachment.internal == True))
        .count(),
        "draft_b": _article_state(world["draft"].id),  # B's editors' only
        "staff_notice_read": Notice.get_by_id(world["staff_notice"].id).read_at,
    }


def _snapshot(world, tenant=True):
    """B's state: the ticket's always; B's people and institution when they are off-limits."""
    ticket = Ticket.get_by_id(world["ticket"].id)
    b = world["institution"].id
    ticket_part = {
        "ticket": (
            ticket.version,
            ticket.state,
            ticket.assignee_id,
            ticket.fields,
            ticket.checklist,
            ticket.title,
            ticket.queue_id,
        ),
        "comments": Comment.select().where(Comment.ticket == ticket.id).count(),
        "events": TicketEvent.select().where(TicketEvent.ticket == ticket.id).count(),
        "attachments": Attachment.select().where(Attachment.ticket == ticket.id).count(),
        "tickets_b": Ticket.select().where(Ticket.institution == b).count(),
        "draft_b": _article_state(world["draft"].id),  # B's editors' only
        "notices_b": [
            (n.id, n.read_at)
            for n in Notice.select()
            .where(Notice.user.in_(User.select(User.id).where(User.institution == b)))
            .order_by(Notice.id)
        ],
    }
    if not tenant:
        return ticket_part
    return ticket_part | {
        "ticket": (
            ticket.version,
            ticket.state,
            ticket.assignee_id,
            ticket.fields,
            ticket.checklist,
            ticket.title,
            ticket.queue_id,
        ),
        "comments": Comment.select().where(Comment.ticket == ticket.id).count(),
        "events": TicketEvent.select().where(TicketEvent.ticket == ticket.id).count(),
        "attachments": Attachment.select().where(Attachment.ticket == ticket.id).count(),
        "tickets_b": Ticket.select().where(Ticket.institution == b).count(),
        "users_b": [
            (u.id, u.email, u.role, u.active, u.cargo, u.full_name)
            for u in User.select().where(User.institution == b).order_by(User.id)
        ],
        "institution_b": tuple(
            Institution.select(Institution.name, Institution.stage, Institution.address)
            .where(Institution.id == b)
            .tuples()
            .get()
        ),
        "tokens_b": [
            (t.id, t.revoked_at) for t in ApiToken.select().where(ApiToken.user == world["user"].id)
        ],
        "tracking_b": [
            (t.id, t.met, t.note)
            for t in TrackingItem.select().where(TrackingItem.institution == b)
        ],
        "outbox_b": [
            (o.id, o.status, o.attempts) for o in Outbox.select().where(Outbox.ticket == ticket.id)
        ],
        "article_b": _article_state(world["article"].id),
        "articles_b": Article.select().where(Article.institution == b).count(),
        "calendar_b": [
            (d.id, d.day, d.working, d.label) for d in CalendarDay.select().order_by(CalendarDay.id)
        ]
        + [(c.id, c.version, c.hours) for c in BusinessCalendar.select()],
        "replies_b": [
            (r.id, r.name, r.body, r.version, r.active)
            for r in CannedReply.select().where(CannedReply.institution == b)
        ],
    }


def _object_for(endpoint: str, world) -> int:
    """The id of B's object a route of this endpoint acts on (by its view)."""
    view = endpoint.split(".", 1)[0]
    by_view = {
        "users": world["user"].id,
        "institutions": world["institution"].id,
        "tokens": world["token"].id,
        "outbox": world["outbox"].id if world["outbox"] else 0,
        "webhooks": world["webhook"].id,
        "webhook_deliveries": world["webhook_delivery"].id if world["webhook_delivery"] else 0,
        "tracking": world["tracking"].id,
        "pipeline": world["institution"].id,
        "institution": world["institution"].id,
    }
    return by_view.get(view, world["ticket"].id)


def _fill(rule, world):
    """Values for every argument of a rule; fails on an argument with no case."""
    ticket = world["ticket"]
    providers = {
        "ticket_id": ticket.id,
        "attachment_id": world["attachment"].id,
        "key": "reprodujo",
        "item": "reprodujo",
        "slug": ticket.type.slug,
        "export_type": "csv",
        "code": "es",
        "token": "x" * 20,
        "institution_id": world["institution"].id,
        "user_id": world["user"].id,
        "token_id": world["token"].id,
        "outbox_id": world["outbox"].id if world["outbox"] else 0,
        "item_id": world["tracking"].id,
        "id": _object_for(rule.endpoint, world),
        "type_id": ticket.type_id,
        "version_id": ticket.type_version_id,
        "filename": "x",
        "article_id": world["article"].id,  # and B's draft: see `_requests`
        "notice_id": world["notice"].id if world["notice"] else 1,
        "reply_id": world["reply"].id,
        "person_id": world["user"].id,
        "queue_id": world["queue"].id,
        "day_id": world["calendar_day"].id,
    }
    values = {}
    for argument in rule.arguments:
        assert argument in providers, (
            f"route {rule.rule} ({rule.endpoint}) has argument {argument!r} with no case in "
            "tests/test_visibility_matrix.py: add one"
        )
        values[argument] = providers[argument]
    return values


def _payload(rule, world, attacker):
    object_id = _object_for(rule.endpoint, world)
    return {
        "id": object_id,
        "rowid": [object_id],
        "action": "delete",
        "name": "escalar",
        "body": "intrusión",
        "comment": "intrusión",
        "internal": "1",
        "done": "1",
        "assignee": attacker.id,
        "version": world["ticket"].version,
        "list_form_pk": object_id,
        "pk": object_id,
        "value": "intrusión",
        "met": "1",
        "note": "intrusión",
        "label": "intrusión",
        "title": "intrusión",
        "email": "intruso@example.com",
        "role": "agq",
        "full_name": "Intruso",
        "cargo": "intruso",
        "active": "y",
        "address": "intrusión",
        "util": "si",
        "token": "intrusion-" + "x" * 16,
        "tipo": "soporte",
        "tags": "intrusión",
        "category": "intrusión",
        "language": "es",
        "status": "published",
        "then": "escalar",
        "transition": "resolver",
        "type_slugs": "soporte",
    }


def _requests(app, world, attacker):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        url_values = _fill(rule, world)
        if attacker.email.startswith(tuple(f"{k}@" for k in SAME_INSTITUTION)):
            # B's own internal users are probed with the internal note's file
            if "attachment_id" in url_values:
                url_values["attachment_id"] = world["internal_attachment"].id
        variants = [url_values]
        if "article_id" in url_values:  # B's published article, then B's draft
            variants.append({**url_values, "article_id": world["draft"].id})
        if "notice_id" in url_values:  # the requester's notice, then B's staff's
            variants.append({**url_values, "notice_id": world["staff_notice"].id})
        for values in variants:
            with app.test_request_context():
                from flask import url_for

                object_id = _object_for(rule.endpoint, world)
                url = url_for(rule.endpoint, **values)
            methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            for method in methods:
                query = {
                    "id": object_id,
                    "url": "/",
                    "name": "requester",
                    "query": "SECRETO",
                    "search": "SECRETO",  # the queues' full-text search
                    "q": world["article_word"],  # Ayuda's search and its suggestions
                    "tipo": "soporte",
                    "token": "intrusion-" + "x" * 16,
                    "sugerencia": "intrusion-" + "x" * 16,
                }
                yield rule, method, url, query
                if rule.endpoint in SEARCHES:
                    # words of B's ticket and of its internal note (not the markers, which
                    # a page echoing its query would show): found, they would carry them
                    for words in ("secreto", "interna"):
                        yield rule, method, url, {**query, "q": words, "search": words}


@pytest.mark.parametrize("attacker_key", ATTACKERS)
def test_no_route_shows_or_changes_another_institutions_ticket(app, client, auth, attacker_key):
    world = _world()
    attacker = auth.login(attacker_key)
    # the AGQ manages every institution and person; only B's first-level ticket is off-limits.
    # B's internal users may see their own institution; the requester sees the ticket itself
    # (so only its internal note is off-limits), the requester's colleague nothing of it
    tenant = attacker_key not in ("agq", *SAME_INSTITUTION)
    requester = attacker_key == "interno_b"
    markers = [world["note_marker"], world["draft_marker"]]
    markers += [] if requester else [world["marker"]]
    markers += [world["tenant_marker"]] if tenant else []
    raw_attacker_token = secrets.token_urlsafe(24)
    ApiToken.create(
        user=attacker,
        name="attacker",
        token_hash=hashlib.sha256(raw_attacker_token.encode()).hexdigest(),
    )
    headers = {"Authorization": f"Bearer {raw_attacker_token}"}
    before = _notes(world) if requester else _snapshot(world, tenant)
    checked = 0
    for rule, method, url, query in _requests(app, world, attacker):
        data = _payload(rule, world, attacker)
        if rule.rule.startswith("/api/"):
            response = client.open(
                url,
                method=method,
                headers=headers,
                query_string=query,
                json={k: v for k, v in data.items() if k != "rowid"},
            )
        elif method == "GET":
            response = client.get(url, query_string=query)
        else:
            data = dict(data)
            data["attachment"] = (io.BytesIO(b"x"), "x.txt")
            response = client.open(
                url,
                method=method,
                data=data,
                query_string=query,
                content_type="multipart/form-data",
            )
        body = response.get_data(as_text=True)
        for marker in markers:
            assert marker not in body, f"{method} {url} as {attacker_key} shows B's data"
        assert response.status_code < 500, (
            f"{method} {url} as {attacker_key}: {response.status_code}"
        )
        checked += 1
        if client.get("/login").status_code != 302:  # a route signed us out: sign in again
            auth.login(attacker_key)
    assert checked > 40
    assert (_notes(world) if requester else _snapshot(world, tenant)) == before


def test_positive_control_owner_sees_the_markers(app, client, auth):
    """The same probes do find B's data for B's own focal user: the matrix can fail."""
    world = _world()
    auth.login("focal_b")
    ticket = world["ticket"]
    assert world["marker"] in client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    assert world["marker"] in client.get("/cola/").get_data(as_text=True)
    download = client.get(f"/ticket/{ticket.id}/attachment/{world['attachment'].id}")
    assert world["marker"].encode() in download.data
    export = client.get("/cola/export/csv/")
    assert world["marker"] in export.get_data(as_text=True)
    assert world["tenant_marker"] in client.get("/personas/").get_data(as_text=True)
    # B's articles: the same probes as the matrix's find them for B's editors
    article, draft = world["article"], world["draft"]
    assert world["tenant_marker"] in client.get(f"/ayuda/{article.id}").get_data(as_text=True)
    assert world["draft_marker"] in client.get(f"/ayuda/{draft.id}").get_data(as_text=True)
    found = client.get("/ayuda/", query_string={"q": world["article_word"]})
    assert world["tenant_marker"] in found.get_data(as_text=True)
    assert world["draft_marker"] in found.get_data(as_text=True)
    suggested = client.get(
        "/ayuda/sugerencias", query_string={"q": world["article_word"], "tipo": "soporte"}
    )
    assert world["tenant_marker"] in suggested.get_data(as_text=True)
    assert client.get(f"/ayuda/{draft.id}/editar").status_code == 200
    assert world["marker"] in client.get("/cola/?search=SECRETO").get_data(as_text=True)
    # the search routes' probes find the ticket and its internal note for B's staff
    for url in ("/buscar/?q=secreto", "/cola/?search=secreto"):
        assert world["marker"] in client.get(url).get_data(as_text=True), url
    assert world["note_marker"] in client.get("/buscar/?q=interna").get_data(as_text=True)
    # the AGQ reads B's published article (every institution's), never B's draft
    auth.login("agq")
    assert world["tenant_marker"] in client.get(f"/ayuda/{article.id}").get_data(as_text=True)
    assert client.get(f"/ayuda/{draft.id}").status_code == 404


def test_requester_never_sees_internal_notes(app, client, auth):
    """Not on the page, not as a file, not in any mail sent to the requester."""
    from notifications.mailer import render

    world = _world()
    auth.login("interno_b")
    page = client.get(f"/ticket/{world['ticket'].id}/").get_data(as_text=True)
    assert f"{world['marker']} comentario" in page
    assert f"{world['marker']} nota" not in page
    assert world["note_marker"] not in page
    ticket_id, note_file = world["ticket"].id, world["internal_attachment"].id
    assert client.get(f"/ticket/{ticket_id}/attachment/{note_file}").status_code == 404
    mails = [
        "\n".join(render(row))
        for row in Outbox.select().where(Outbox.recipient == world["user"].email)
    ]
    assert mails and any(world["marker"] in m for m in mails)  # the requester does get mail
    assert not any(world["note_marker"] in m for m in mails)
    staff = [
        "\n".join(render(row))
        for row in Outbox.select().where(
            Outbox.recipient.in_([user("focal_b").email, user("aiq_b").email])
        )
    ]
    assert any(world["note_marker"] in m for m in staff)  # positive control: staff are told


def test_positive_control_the_colleague_and_the_requester_are_signed_in_probes(app, client, auth):
    """The requester's colleague really is B's internal user, and sees their own ticket."""
    world = _world()
    colleague = auth.login("interno2_b")
    assert colleague.institution_id == world["institution"].id
    own = make_ticket(colleague, title="Del colega")
    assert client.get(f"/ticket/{own.id}/").status_code == 200
    assert client.get(f"/ticket/{world['ticket'].id}/").status_code == 404
    auth.login("interno_b")
    assert world["marker"] in client.get(f"/ticket/{world['ticket'].id}/").get_data(as_text=True)
