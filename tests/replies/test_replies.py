"""Canned replies: who writes and uses which, placeholders filled in the sandbox, the
loop-free template rule, stale edits, the picker on the ticket page and "responder y
resolver" through the comment form."""

import pytest

from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.errors import NotFound, StaleVersion, ValidationFailed
from ticketing.models import CannedReply, Comment, Outbox, Ticket
from ticketing.services.replies import check_template, fill_reply, reply_context
from ticketing.visibility import visible_replies


def _reply(who="agq", **values):
    data = {"name": f"Respuesta de {who}", "body": "Hola {{ solicitante }}."}
    data.update(values)
    return services.create_reply(user(who), **data)


def test_the_seed_gives_sge_replies_for_the_support_types(app):
    seeded = list(CannedReply.select().where(CannedReply.institution.is_null()))
    assert len(seeded) >= 4
    assert any(r.transition == "resolver" for r in seeded)
    assert all(not check_template(r.body) for r in seeded)


def test_agq_writes_sges_replies_and_an_aiq_their_institutions(app):
    sge = _reply("agq")
    own = _reply("aiq", name="De A")
    assert sge.institution_id is None
    assert own.institution_id == user("aiq").institution_id
    for who in ("focal", "interno", "aiq_b"):
        if who == "aiq_b":
            with pytest.raises(NotFound):
                services.editable_reply(user(who), own.id)
            continue
        with pytest.raises(NotFound):
            services.create_reply(user(who), name="x", body="y")


@pytest.mark.parametrize(
    "who, sees_sge, sees_a",
    [
        ("agq", True, False),
        ("aiq", True, True),
        ("focal", True, True),
        ("interno", False, False),
        ("aiq_b", True, False),
        ("focal_b", True, False),
        ("interno_b", False, False),
    ],
)
def test_who_sees_which_replies(app, who, sees_sge, sees_a):
    sge = _reply("agq")
    own = _reply("aiq", name="De A")
    ids = {r.id for r in visible_replies(user(who))}
    assert (sge.id in ids) is sees_sge
    assert (own.id in ids) is sees_a


def test_placeholders_are_filled_from_the_ticket(app):
    ticket = make_ticket(user("interno"), fields={"modulo": "firma_electronica"})
    reply = _reply(
        "aiq",
        body="{{ solicitante }} · {{ referencia }} · {{ campos.modulo }} · "
        "{{ institucion }} · {{ agente }} · {{ nada }}{% if campos.modulo %} ✓{% endif %}",
    )
    text = fill_reply(reply, reply_context(user("focal"), Ticket.get_by_id(ticket.id)))
    assert text == (
        f"INTERNO INSTA · {ticket.reference} · Firma electrónica · INSTA · FOCAL INSTA ·  ✓"
    )


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "{{ 'x' * 1000000000 }}",
        "{{ 9 ** 999999 }}",
        "{{ campos.__class__.__mro__ }}x{% macro m() %}{% endmacro %}",
        "{% include 'mesa/master.html' %}",
        "{{ solicitante|attr('__class__') }}",
        "{{ lipsum() }}",
        "{{ solicitante ",
    ],
)
def test_only_loop_free_placeholders_are_accepted(app, body):
    with pytest.raises(ValidationFailed) as refused:
        _reply("agq", body=body)
    assert "body" in refused.value.fields


def test_the_sandbox_reaches_no_attribute_of_python_objects(app):
    ticket = make_ticket(user("interno"))
    reply = _reply("agq", body="[{{ campos.__class__ }}][{{ solicitante.__class__ }}]")
    text = fill_reply(reply, reply_context(user("focal"), Ticket.get_by_id(ticket.id)))
    assert text == "[][]"


def test_a_stale_edit_is_refused_and_changes_nothing(app):
    reply = _reply("agq")
    services.update_reply(user("agq"), reply.id, {"name": "Primera"}, reply.version)
    with pytest.raises(StaleVersion):
        services.update_reply(user("agq"), reply.id, {"name": "Segunda"}, reply.version)
    assert CannedReply.get_by_id(reply.id).name == "Primera"


def test_a_transition_must_belong_to_a_chosen_type(app):
    with pytest.raises(ValidationFailed) as refused:
        _reply("agq", type_slugs=["soporte"], transition="aceptar")
    assert "transition" in refused.value.fields
    with pytest.raises(ValidationFailed):
        _reply("agq", type_slugs=["no-existe"])
    with pytest.raises(ValidationFailed):
        _reply("agq", type_slugs=["soporte"], transition="resolver", internal=True)


def test_offered_only_to_who_answers_the_ticket_and_for_its_type(app):
    ticket = make_ticket(user("interno"))
    support = _reply("agq", name="Soporte", type_slugs=["soporte"])
    other = _reply("agq", name="Escalamiento", type_slugs=["escalamiento-sge"])
    mine = _reply("aiq", name="De A")
    inactive = _reply("aiq", name="Vieja", active=False)
    offered = {r.id for r in services.offered_replies(user("focal"), ticket)}
    assert support.id in offered and mine.id in offered
    assert other.id not in offered and inactive.id not in offered
    assert services.offered_replies(user("interno"), ticket) == []


def test_answer_and_resolve_is_one_comment_one_transition_one_mail(app):
    ticket = make_ticket(user("interno"))
    before_id = Outbox.select(Outbox.id).order_by(Outbox.id.desc()).scalar() or 0
    services.answer_and_transition(user("focal"), ticket.id, "resolver", "Listo **ya**.")
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.state == "resuelto"
    bodies = [c.body for c in Comment.select().where(Comment.ticket == ticket.id)]
    assert bodies == ["Listo **ya**."]
    new = list(Outbox.select().where(Outbox.id > before_id))
    assert [(m.event, m.recipient) for m in new] == [("state_changed", user("interno").email)]


def test_answer_and_transition_refuses_an_internal_note_and_writes_nothing(app):
    ticket = make_ticket(user("interno"))
    with pytest.raises(ValidationFailed):
        services.answer_and_transition(user("focal"), ticket.id, "resolver", "x", internal=True)
    assert Ticket.get_by_id(ticket.id).state == "nuevo"
    assert not Comment.select().where(Comment.ticket == ticket.id).exists()


# ------------------------------------------------------------------ through the pages


def test_the_ticket_page_offers_filled_replies_to_the_focal_user_only(client, auth, app):
    ticket = make_ticket(user("interno"))
    _reply("aiq", name="Saludo A", body="Hola {{ solicitante }}, {{ referencia }}.")
    auth.login("focal")
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert "data-canned-replies" in page and "Saludo A" in page
    assert f"Hola INTERNO INSTA, {ticket.reference}." in page
    auth.login("interno")
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert "data-canned-replies" not in page and "Saludo A" not in page


def test_the_comment_form_answers_and_resolves(client, auth, app):
    ticket = make_ticket(user("interno"))
    auth.login("focal")
    response = client.post(
        f"/ticket/{ticket.id}/comment", data={"body": "Resuelto.", "then": "resolver"}
    )
    assert response.status_code == 302
    assert Ticket.get_by_id(ticket.id).state == "resuelto"
    # another institution's ticket: nothing written, 404
    other = make_ticket(user("interno_b"))
    response = client.post(f"/ticket/{other.id}/comment", data={"body": "x", "then": "resolver"})
    assert response.status_code == 404
    assert Ticket.get_by_id(other.id).state == "nuevo"


def test_the_replies_page_lists_what_each_may_use_and_edits_what_they_own(client, auth, app):
    sge = _reply("agq", name="De SGE")
    own = _reply("aiq", name="De A")
    auth.login("focal_b")
    page = text_of(client.get("/respuestas/"))
    assert "De SGE" in page and "De A" not in page
    assert client.get(f"/respuestas/{own.id}/editar").status_code == 404
    assert client.get("/respuestas/nueva").status_code == 404
    auth.login("aiq")
    assert client.get(f"/respuestas/{sge.id}/editar").status_code == 404
    response = client.post(
        f"/respuestas/{own.id}/editar",
        data={"name": "De A (nueva)", "body": "Hola.", "version": str(own.version), "active": "y"},
    )
    assert response.status_code == 302
    assert CannedReply.get_by_id(own.id).name == "De A (nueva)"
    response = client.post(
        f"/respuestas/{own.id}/editar",
        data={"name": "Otra", "body": "Hola.", "version": str(own.version)},
    )
    assert response.status_code == 409
    assert "Otra persona modificó" in text_of(response)
    response = client.post("/respuestas/nueva", data={"name": "", "body": "{% for x in y %}"})
    assert response.status_code == 422
    auth.login("interno")
    assert client.get("/respuestas/").status_code == 404
