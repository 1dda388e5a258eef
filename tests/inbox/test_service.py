"""Notices: written by `notify` beside the mail, in the change's transaction, to the same
people; mail preferences; @mentions in internal notes; reading one's own notices only."""

import pytest

from tests.conftest import _password_hash, make_ticket, user
from ticketing import services
from ticketing.errors import NotFound, ValidationFailed
from ticketing.models import Notice, NoticePreference, Outbox, User
from ticketing.outbox import unit_of_work


def _noticed(event, ticket=None):
    query = Notice.select().where(Notice.event == event)
    if ticket is not None:
        query = query.where(Notice.ticket == ticket.id)
    return sorted(n.user_id for n in query)


def _mailed(event, ticket=None):
    query = Outbox.select().where(Outbox.event == event)
    if ticket is not None:
        query = query.where(Outbox.ticket == ticket.id)
    return sorted(o.recipient_user_id for o in query)


def _colleague(key="focal2", role="focal", institution_of="focal", cedula="1710000090"):
    """Another agent of an institution, signed-in-able like the demo accounts."""
    person = services.create_user(
        services.SYSTEM,
        full_name=f"{key.upper()} Colega",
        cedula=cedula,
        email=f"{key}@insta.ec",
        role=role,
        institution_id=user(institution_of).institution_id,
        invite=False,
    )
    User.update(password_hash=_password_hash()).where(User.id == person.id).execute()
    return person


def test_each_recipient_of_a_mail_gets_one_notice_and_the_actor_none(app):
    interno, focal, aiq = user("interno"), user("focal"), user("aiq")
    ticket = make_ticket(interno, title="No llega el oficio")
    # opening: the queue is told, the requester (who opened it on the web) is not
    assert _noticed("ticket_opened_queue", ticket) == _mailed("ticket_opened_queue", ticket)
    assert _noticed("ticket_opened_queue", ticket) == sorted([focal.id, aiq.id])

    services.add_comment(focal, ticket.id, "Revisamos la bandeja de salida.")
    assert _noticed("comment_public", ticket) == sorted([interno.id, aiq.id])
    assert _noticed("comment_public", ticket) == _mailed("comment_public", ticket)
    notice = Notice.get((Notice.event == "comment_public") & (Notice.user == interno.id))
    assert notice.actor_id == focal.id and notice.read_at is None
    assert notice.context == {
        "reference": ticket.reference,
        "title": "No llega el oficio",
        "what": "Revisamos la bandeja de salida.",
    }


def test_a_transition_tells_each_person_once_with_what_happened(app):
    interno, focal = user("interno"), user("focal")
    ticket = make_ticket(interno)
    services.transition(focal, ticket.id, "resolver", comment="Reinstalamos el certificado.")
    [notice] = Notice.select().where((Notice.user == interno.id) & (Notice.ticket == ticket.id))
    assert notice.event == "state_changed"
    assert notice.context["what"] == "Resolver — Reinstalamos el certificado."
    assert _noticed("state_changed", ticket) == _mailed("state_changed", ticket) == [interno.id]


def test_a_rolled_back_change_leaves_neither_notice_nor_mail(app):
    ticket = make_ticket(user("interno"))
    notices, mails = Notice.select().count(), Outbox.select().count()
    with pytest.raises(RuntimeError), unit_of_work():
        services.add_comment(user("focal"), ticket.id, "Se perderá")
        assert Notice.select().count() > notices  # written inside the transaction...
        raise RuntimeError("the change fails after the comment")
    assert Notice.select().count() == notices  # ...and gone with it
    assert Outbox.select().count() == mails


def test_an_internal_note_never_reaches_the_requester_nor_internal_users(app):
    interno, focal, aiq = user("interno"), user("focal"), user("aiq")
    ticket = make_ticket(interno)
    services.assign(focal, ticket.id, focal.id)
    services.add_comment(aiq, ticket.id, "Nota solo para el equipo", internal=True)
    assert _noticed("comment_internal", ticket) == [focal.id]
    assert _mailed("comment_internal", ticket) == [focal.id]
    people = {n.user_id for n in Notice.select().where(Notice.ticket == ticket.id)}
    assert interno.id not in {
        n.user_id for n in Notice.select().where(Notice.event == "comment_internal")
    }
    assert people  # the ticket's other notices are there


def test_mail_turned_off_keeps_the_notice_and_writes_no_mail(app):
    interno, focal, aiq = user("interno"), user("focal"), user("aiq")
    services.set_preferences(interno, {"comment_public": False})
    ticket = make_ticket(interno)
    services.add_comment(focal, ticket.id, "¿Puede enviar una captura?")
    assert _noticed("comment_public", ticket) == sorted([interno.id, aiq.id])
    assert _mailed("comment_public", ticket) == [aiq.id]  # the others' mail is unchanged
    # only that event: a state change still mails
    services.transition(focal, ticket.id, "resolver", comment="Listo.")
    assert _mailed("state_changed", ticket) == [interno.id]
    # and turned back on, it mails again
    services.set_preferences(interno, {"comment_public": True})
    services.add_comment(focal, ticket.id, "Otra pregunta")
    assert _mailed("comment_public", ticket).count(interno.id) == 1


def test_preferences_list_every_ticket_event_in_spanish_and_refuse_unknown_ones(app):
    focal = user("focal")
    rows = services.preferences(focal)
    events = [event for event, _label, _mail in rows]
    assert events[:3] == ["ticket_opened", "ticket_opened_queue", "assigned"]
    assert {"comment_public", "comment_internal", "mention", "state_changed"} <= set(events)
    assert not {"invitation", "password_reset", "generic"} & set(events)  # account mail
    labels = dict((e, label) for e, label, _mail in rows)
    assert labels["mention"] == "Le mencionaron en una nota interna"
    assert all(mail for _e, _l, mail in rows)  # default: everything also by mail
    # an internal user is never told of internal notes: not offered, not accepted
    interno = [e for e, _l, _m in services.preferences(user("interno"))]
    assert "comment_public" in interno and not {"comment_internal", "mention"} & set(interno)
    with pytest.raises(ValidationFailed):
        services.set_preferences(user("interno"), {"mention": False})

    services.set_preferences(focal, {"assigned": False, "mention": False})
    assert {e for e, _l, mail in services.preferences(focal) if not mail} == {
        "assigned",
        "mention",
    }
    with pytest.raises(ValidationFailed) as refused:
        services.set_preferences(focal, {"assigned": True, "password_reset": False})
    assert "correo" in refused.value.fields
    # refused as a whole: "assigned" kept its choice, nothing else was written
    assert {(p.event, p.mail) for p in NoticePreference.select()} == {
        ("assigned", False),
        ("mention", False),
    }
    assert services.preferences(user("aiq"))[2][2] is True  # one person's choice only


def test_a_mention_in_an_internal_note_tells_only_that_colleague(app):
    interno, focal, aiq = user("interno"), user("focal"), user("aiq")
    other = _colleague()
    ticket = make_ticket(interno)
    services.add_comment(
        focal,
        ticket.id,
        "@aiq ¿puede revisar el certificado? Copia a @focal_b, @agq, @interno y @nadie.",
        internal=True,
    )
    assert _noticed("mention", ticket) == _mailed("mention", ticket) == [aiq.id]
    # the mentioned colleague is told once, of the mention; the rest of the queue as ever
    assert _noticed("comment_internal", ticket) == [other.id]
    assert _mailed("comment_internal", ticket) == [other.id]
    # nobody of another institution, the requester or the AGQ (first level) heard of it
    outsiders = [user("focal_b").id, user("agq").id, interno.id]
    assert (
        not Notice.select()
        .where((Notice.user.in_(outsiders)) & (Notice.event.in_(["mention", "comment_internal"])))
        .exists()
    )
    assert not Outbox.select().where(Outbox.recipient_user.in_(outsiders[:2])).exists()
    mail = Outbox.get((Outbox.event == "mention") & (Outbox.recipient_user == aiq.id))
    assert mail.context["comment"].startswith("@aiq ¿puede revisar")


def test_mentions_read_local_parts_only_in_internal_notes(app):
    interno, focal, aiq = user("interno"), user("focal"), user("aiq")
    ticket = make_ticket(interno)
    # an address written out is not a mention; nor is a public comment's "@aiq"
    services.add_comment(focal, ticket.id, "Escriba a aiq@insta.ec", internal=True)
    services.add_comment(focal, ticket.id, "Lo verá @aiq")
    services.add_comment(aiq, ticket.id, "Me menciono: @aiq.", internal=True)  # the actor
    assert _noticed("mention") == []
    # case and a sentence's full stop do not matter
    services.add_comment(aiq, ticket.id, "Gracias, @FOCAL.", internal=True)
    assert _noticed("mention", ticket) == [focal.id]


def test_on_sges_queue_the_agq_can_be_mentioned_and_other_institutions_cannot(app):
    focal, aiq, agq = user("focal"), user("aiq"), user("agq")
    escalation = make_ticket(
        aiq, "escalamiento-sge", fields={"modulo": "reportes", "descripcion": "No carga."}
    )
    # the AIQ asked: as its requester she reads no internal note, so is not found
    services.add_comment(agq, escalation.id, "@aiq @focal_b @focal revisen", internal=True)
    assert _noticed("mention", escalation) == [focal.id]
    services.add_comment(focal, escalation.id, "@agq @aiq @focal_b", internal=True)
    assert _noticed("mention", escalation) == sorted([focal.id, agq.id])


def test_unread_count_list_and_marking_read_are_the_persons_own(app):
    interno, focal = user("interno"), user("focal")
    ticket = make_ticket(interno)
    for i in range(3):
        services.add_comment(focal, ticket.id, f"Comentario {i}")
    assert services.unread_count(interno) == 3
    page = services.notices(interno)
    assert [n.context["what"] for n in page.rows] == [f"Comentario {i}" for i in (2, 1, 0)]
    assert page.rows[0].actor.full_name == focal.full_name and page.next_before is None

    newest = page.rows[0]
    with pytest.raises(NotFound):
        services.mark_read(focal, newest.id)  # not focal's
    with pytest.raises(NotFound):
        services.mark_read(interno, 2**40)
    assert Notice.get_by_id(newest.id).read_at is None
    assert services.open_notice(interno, newest.id) == ticket.id
    assert Notice.get_by_id(newest.id).read_at is not None
    assert services.unread_count(interno) == 2

    services.add_comment(focal, ticket.id, "Llegó después")
    assert services.mark_all_read(interno, up_to=newest.id) == 2
    assert services.unread_count(interno) == 1  # the later one stays unread
    assert services.mark_all_read(interno) == 1
    assert services.unread_count(interno) == 0
    assert services.unread_count(user("aiq")) == 5  # another person's are untouched


def test_the_list_pages_by_id_and_the_bell_is_capped(app, monkeypatch):
    from ticketing.services import inbox

    interno, focal = user("interno"), user("focal")
    ticket = make_ticket(interno)
    for i in range(7):
        services.add_comment(focal, ticket.id, f"C{i}")
    first = services.notices(interno, limit=3)
    second = services.notices(interno, before=first.next_before, limit=3)
    third = services.notices(interno, before=second.next_before, limit=3)
    seen = [n.context["what"] for p in (first, second, third) for n in p.rows]
    assert seen == [f"C{i}" for i in range(6, -1, -1)]
    assert third.next_before is None
    monkeypatch.setattr(inbox, "BELL_CAP", 4)
    assert services.unread_count(interno) == 5  # "4+": it stops reading past the cap


def test_a_notice_of_a_ticket_out_of_reach_opens_nothing(app):
    interno, focal = user("interno"), user("focal")
    ticket = make_ticket(interno)
    services.add_comment(interno, ticket.id, "Sigue sin funcionar")
    notice = Notice.get((Notice.user == focal.id) & (Notice.event == "comment_public"))
    User.update(institution=user("focal_b").institution_id).where(User.id == focal.id).execute()
    assert services.open_notice(user("focal"), notice.id) is None
    assert Notice.get_by_id(notice.id).read_at is not None
