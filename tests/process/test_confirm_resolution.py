"""After SGE answers an escalation, the first level confirms the answer with whoever asked:
the ticket waits in "Por confirmar", and may be reopened within the process's window."""

import datetime as dt

import pytest

from tests.conftest import make_ticket, user
from tests.process.helpers import mails_to, next_step
from ticketing import services, stats
from ticketing.definitions import validate_definition
from ticketing.errors import GuardFailed, NotFound
from ticketing.models import Comment, Ticket, TicketEvent, now


def _answered_by_sge(title="No puedo firmar"):
    """A support ticket escalated by the focal user and answered by the AGQ."""
    interno, focal, agq = user("interno"), user("focal"), user("agq")
    support = make_ticket(interno, title=title)
    services.transition(focal, support.id, "escalar", comment="Probamos en otro equipo.")
    escalation = next_step(support, "escalamiento-sge")
    services.transition(agq, escalation.id, "resolver", comment="Se renovó el certificado.")
    return Ticket.get_by_id(support.id)


def _offered(person, ticket) -> dict:
    return {
        t["name"]: t["allowed"]
        for t in services.available_transitions(person, Ticket.get_by_id(ticket.id))
    }


def _close_days_ago(ticket, days: int) -> None:
    Ticket.update(closed_at=now() - dt.timedelta(days=days)).where(Ticket.id == ticket.id).execute()
    stats.rebuild()  # tickets written behind the services' back


def test_sges_answer_waits_for_confirmation_and_the_focal_user_confirms_it(app):
    support = _answered_by_sge()
    assert (support.state, support.state_category, support.closed_at) == (
        "por_confirmar",
        "waiting",
        None,
    )
    assert mails_to(user("interno").email, "resolution_check")[-1].ticket_id == support.id
    # only the two answers are offered, to the requester and to the first level alike
    for person in (user("interno"), user("focal"), user("aiq")):
        assert _offered(person, support) == {"confirmar": True, "no_resuelto": True}
    assert _offered(user("agq"), support) == {"confirmar": False, "no_resuelto": False}

    services.transition(user("focal"), support.id, "confirmar")
    support = Ticket.get_by_id(support.id)
    assert (support.state, support.state_category) == ("resuelto", "done")
    assert support.closed_at is not None
    (event,) = (
        TicketEvent.select()
        .where((TicketEvent.ticket == support.id) & (TicketEvent.kind == "transition"))
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    assert event.data["name"] == "confirmar" and event.data["to"] == "resuelto"


def test_the_requester_says_it_was_not_solved_with_a_comment(app):
    interno, focal = user("interno"), user("focal")
    support = _answered_by_sge()
    with pytest.raises(GuardFailed) as refused:
        services.transition(interno, support.id, "no_resuelto")
    assert refused.value.guard == "comment_required"
    assert Ticket.get_by_id(support.id).state == "por_confirmar"

    services.transition(interno, support.id, "no_resuelto", comment="Sigue sin firmar.")
    support = Ticket.get_by_id(support.id)
    assert (support.state, support.closed_at) == ("en_atencion", None)
    assert Comment.select().where(Comment.ticket == support.id).order_by(
        Comment.id.desc()
    ).get().body == ("Sigue sin firmar.")
    # back with the first level, which may escalate it again
    assert _offered(focal, support)["escalar"] is True


def test_nobody_outside_the_ticket_answers_for_the_requester(app):
    support = _answered_by_sge()
    for outsider in ("interno_b", "focal_b", "aiq_b"):
        with pytest.raises(NotFound):
            services.transition(user(outsider), support.id, "confirmar")
    assert Ticket.get_by_id(support.id).state == "por_confirmar"


def test_reopening_is_allowed_within_fifteen_days_of_closing_and_refused_after(app):
    interno = user("interno")
    support = _answered_by_sge()
    services.transition(interno, support.id, "confirmar")

    _close_days_ago(support, 15)  # the last day of the window still reopens
    services.transition(interno, support.id, "reabrir", comment="Volvió a fallar.")
    assert Ticket.get_by_id(support.id).state == "en_atencion"

    services.transition(user("focal"), support.id, "resolver", comment="Reinstalamos el token.")
    _close_days_ago(support, 16)
    support = Ticket.get_by_id(support.id)
    limit = (support.closed_at + dt.timedelta(days=15)).date()
    (reabrir,) = [
        t for t in services.available_transitions(interno, support) if t["name"] == "reabrir"
    ]
    assert reabrir["allowed"] is False and "más de 15 días" in reabrir["reason"]
    with pytest.raises(GuardFailed) as refused:
        services.transition(interno, support.id, "reabrir", comment="Otra vez.")
    assert refused.value.guard == "closed_within"
    assert str(limit.year) in refused.value.message and "ticket nuevo" in refused.value.message
    assert Ticket.get_by_id(support.id).state == "resuelto"


def test_a_reply_by_the_requester_takes_the_on_reply_transition_or_stays_a_comment(app):
    interno, focal = user("interno"), user("focal")
    support = _answered_by_sge()
    # the first level's reply is a comment: only whoever asked answers the question
    services.reply_by_mail(focal, support.id, "Le llamamos mañana.")
    assert Ticket.get_by_id(support.id).state == "por_confirmar"

    services.reply_by_mail(interno, support.id, "No, sigue igual.")
    support = Ticket.get_by_id(support.id)
    assert support.state == "en_atencion"
    reply = Comment.select().where(Comment.ticket == support.id).order_by(Comment.id.desc()).get()
    assert (reply.body, reply.source, reply.author_id) == ("No, sigue igual.", "mail", interno.id)

    services.transition(focal, support.id, "resolver", comment="Listo.")
    services.reply_by_mail(interno, support.id, "Falla de nuevo.")  # within the window
    assert Ticket.get_by_id(support.id).state == "en_atencion"

    services.transition(focal, support.id, "resolver", comment="Listo otra vez.")
    _close_days_ago(support, 30)
    services.reply_by_mail(interno, support.id, "Gracias.")  # a month on: a comment
    assert Ticket.get_by_id(support.id).state == "resuelto"
    assert Comment.select().where(Comment.ticket == support.id).order_by(
        Comment.id.desc()
    ).get().body == ("Gracias.")


def test_guard_settings_are_checked_where_the_definition_is(app):
    defn = {
        "slug": "t",
        "name": "T",
        "states": [
            {"key": "a", "label": "A", "category": "open", "initial": True},
            {"key": "b", "label": "B", "category": "done"},
        ],
        "transitions": [
            {"name": "x", "label": "X", "from": ["b"], "to": "a", "guards": [guard]}
            for guard in (
                {"kind": "closed_within", "days": 7},
                {"kind": "closed_within", "days": 0},
                {"kind": "closed_within", "dias": 7},
                "on_reply",
                "on_reply",
            )
        ],
    }
    for i, tr in enumerate(defn["transitions"]):
        tr["name"] = f"x{i}"
    defn["transitions"][3]["roles"] = ["requester", "focal"]  # a reply by mail is the requester's
    errors = validate_definition(defn)
    assert errors == [
        "t: transitions[1]: closed_within: valor inválido para 'days'",
        "t: transitions[2]: closed_within: parámetro desconocido 'dias'",
        "t: transitions[4]: on_reply: la transición debe permitir al solicitante (requester)",
    ]
