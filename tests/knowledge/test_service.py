"""The knowledge base's rules, through the service: who writes what, history, votes,
deflection, drafts from tickets."""

import secrets

import pytest

from tests.conftest import make_ticket, user
from tests.knowledge.helpers import make_article, resolved_ticket
from ticketing import search, services
from ticketing.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from ticketing.models import Article, ArticleEvent, ArticleVote, Deflection, Institution


def _token():
    return secrets.token_urlsafe(16)


# ----------------------------------------------------------------- who writes what


def test_agq_writes_sge_wide_articles_whatever_institution_it_names(app):
    article = make_article("agq")
    assert article.institution_id is None and article.author_id == user("agq").id
    b = Institution.get(Institution.sigla == "INSTB")
    with pytest.raises(PermissionDenied):
        make_article("agq", institution_id=b.id)


@pytest.mark.parametrize("role", ["aiq", "focal"])
def test_aiq_and_focal_write_their_own_institutions_articles(app, role):
    article = make_article(role)
    assert article.institution_id == user(role).institution_id
    # naming their own institution is the same; naming another is refused
    same = make_article(role, institution_id=user(role).institution_id)
    assert same.institution_id == user(role).institution_id
    b = Institution.get(Institution.sigla == "INSTB")
    with pytest.raises(PermissionDenied):
        make_article(role, institution_id=b.id)


def test_internal_user_writes_no_article_and_nothing_is_written(app):
    before = Article.select().count()
    with pytest.raises(PermissionDenied):
        make_article("interno")
    with pytest.raises(PermissionDenied):
        services.draft_from_ticket(user("interno"), make_ticket().id)
    assert Article.select().count() == before


def test_editors_edit_only_what_is_theirs(app):
    sge_article = make_article("agq")
    a_article = make_article("aiq")
    b_article = make_article("aiq_b")
    b_draft = make_article("focal_b", status="draft")
    # A's focal user edits A's article, may read SGE's and B's published but not edit them
    services.update_article(user("focal"), a_article.id, {"title": "Nuevo título"}, 1)
    with pytest.raises(PermissionDenied):
        services.update_article(user("focal"), sge_article.id, {"title": "x"}, 1)
    # B's published article is not A's to read; B's draft is not even there for A
    with pytest.raises(NotFound):
        services.update_article(user("focal"), b_article.id, {"title": "x"}, 1)
    with pytest.raises(NotFound):
        services.update_article(user("aiq"), b_draft.id, {"title": "x"}, 1)
    # the AGQ reads B's published article but does not write it, and never sees B's draft
    with pytest.raises(PermissionDenied):
        services.update_article(user("agq"), b_article.id, {"title": "x"}, 1)
    with pytest.raises(NotFound):
        services.update_article(user("agq"), b_draft.id, {"title": "x"}, 1)
    with pytest.raises(PermissionDenied):
        services.update_article(user("interno"), sge_article.id, {"title": "x"}, 1)
    assert Article.get_by_id(b_article.id).title == b_article.title
    assert Article.get_by_id(sge_article.id).version == 1


def test_drafts_are_read_only_by_their_editors(app):
    draft = make_article("aiq", status="draft")
    assert services.visible_article(user("focal"), draft.id).id == draft.id
    for key in ("interno", "agq", "aiq_b"):
        with pytest.raises(NotFound):
            services.visible_article(user(key), draft.id)


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"body": "x" * 100_001}, "body"),
        ({"language": "fr"}, "language"),
        ({"status": "archived"}, "status"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"tags": {"no": "lista"}}, "tags"),
        ({"category": "x" * 65}, "category"),
        ({"title": ["no", "texto"]}, "title"),
    ],
)
def test_invalid_values_are_refused_with_a_spanish_message_on_their_field(app, overrides, field):
    before = Article.select().count()
    with pytest.raises(ValidationFailed) as refused:
        make_article("agq", **overrides)
    assert set(refused.value.fields) == {field}
    assert refused.value.fields[field][0].isupper()  # a sentence for people, not a code
    assert Article.select().count() == before


def test_limits_themselves_are_accepted_and_tags_are_tidied(app):
    article = make_article(
        "agq",
        title="x" * 255,
        body="y" * 100_000,
        tags=" firma , Firma,, certificado ," + ",".join(f"t{i}" for i in range(18)),
    )
    assert article.tags[:2] == ["firma", "certificado"] and len(article.tags) == 20
    assert len(Article.get_by_id(article.id).body) == 100_000


# ----------------------------------------------------------------- history and stale edits


def test_every_change_is_in_the_history(app):
    article = make_article("aiq", status="draft", title="Borrador")
    aiq = user("aiq")
    services.update_article(aiq, article.id, {"body": "Texto nuevo"}, 1)
    services.update_article(aiq, article.id, {"status": "published"}, 2)
    services.update_article(user("focal"), article.id, {"status": "draft"}, 3)
    events = list(
        ArticleEvent.select().where(ArticleEvent.article == article.id).order_by(ArticleEvent.id)
    )
    assert [e.kind for e in events] == ["created", "edited", "published", "withdrawn"]
    assert events[1].data["changes"]["body"] == {"from": article.body, "to": "Texto nuevo"}
    assert [e.actor_id for e in events] == [aiq.id, aiq.id, aiq.id, user("focal").id]
    history = list(services.article_history(aiq, article.id))
    assert [h.kind for h in history] == [e.kind for e in events]
    assert history[-1].actor.full_name == user("focal").full_name
    stored = Article.get_by_id(article.id)
    assert (stored.version, stored.status) == (4, "draft")
    assert stored.published_at is not None  # when it was first published


def test_an_unchanged_edit_writes_nothing(app):
    article = make_article("agq")
    same = {"title": article.title, "body": article.body, "tags": article.tags}
    services.update_article(user("agq"), article.id, same, 1)
    assert Article.get_by_id(article.id).version == 1
    assert ArticleEvent.select().where(ArticleEvent.article == article.id).count() == 1


def test_a_stale_edit_is_refused_and_keeps_the_other_persons_change(app):
    article = make_article("aiq")
    services.update_article(user("focal"), article.id, {"title": "Del focal"}, 1)
    with pytest.raises(StaleVersion):
        services.update_article(user("aiq"), article.id, {"title": "Del AIQ"}, 1)
    with pytest.raises(ValidationFailed) as refused:
        services.update_article(user("aiq"), article.id, {"title": "Del AIQ"}, "dos")
    assert "version" in refused.value.fields
    stored = Article.get_by_id(article.id)
    assert (stored.title, stored.version) == ("Del focal", 2)


def test_every_write_reindexes_the_article(app):
    article = make_article("agq", title="Certificados vencidos", body="Renueve el token.")
    found = [h.article.id for h in search.search_articles(user("interno"), "certificado")]
    assert article.id in found
    services.update_article(user("agq"), article.id, {"title": "Firmas rechazadas"}, 1)
    assert article.id not in [
        h.article.id for h in search.search_articles(user("interno"), "certificado")
    ]
    assert article.id in [h.article.id for h in search.search_articles(user("interno"), "firmas")]


# ----------------------------------------------------------------- votes


def test_a_vote_counts_once_per_person_and_can_change(app):
    article = make_article("agq")
    interno, focal = user("interno"), user("focal")
    services.vote(interno, article.id, True)
    services.vote(interno, article.id, True)
    services.vote(focal, article.id, True)
    stored = Article.get_by_id(article.id)
    assert (stored.helpful, stored.not_helpful) == (2, 0)
    services.vote(interno, article.id, False)
    stored = services.vote(interno, article.id, False)
    assert (stored.helpful, stored.not_helpful) == (1, 1)
    assert ArticleVote.select().where(ArticleVote.article == article.id).count() == 2
    assert services.my_vote(interno, stored) is False
    assert services.my_vote(user("aiq"), stored) is None


def test_votes_only_on_readable_published_articles_and_only_yes_or_no(app):
    b_article = make_article("aiq_b")
    draft = make_article("aiq", status="draft")
    with pytest.raises(NotFound):
        services.vote(user("interno"), b_article.id, True)
    with pytest.raises(Conflict):
        services.vote(user("focal"), draft.id, True)
    with pytest.raises(ValidationFailed):
        services.vote(user("interno"), make_article().id, "sí")
    assert ArticleVote.select().count() == 0


# ----------------------------------------------------------------- deflection


def test_reading_suggestions_counts_once_per_form_and_article(app):
    interno = user("interno")
    first, second = make_article(), make_article()
    token = _token()
    services.read_suggestion(interno, token, first.id, "soporte")
    services.read_suggestion(interno, token, first.id, "soporte")  # opened twice: one read
    services.read_suggestion(interno, token, second.id, "soporte")
    services.read_suggestion(interno, _token(), first.id, "soporte")  # another form
    assert Deflection.select().count() == 3
    figures = services.deflection_figures(user("aiq"))
    assert figures == {"read": 3, "not_opened": 2}


def test_a_ticket_sent_from_the_form_is_no_longer_counted_as_spared(app):
    interno = user("interno")
    token = _token()
    services.read_suggestion(interno, token, make_article().id, "soporte")
    services.read_suggestion(interno, token, make_article().id, "soporte")
    ticket = make_ticket(interno)
    assert services.form_sent(interno, token, ticket) == 2
    assert services.deflection_figures(user("agq")) == {"read": 2, "not_opened": 0}
    # read afterwards from the same form (another tab): still the ticket's
    services.read_suggestion(interno, token, make_article().id, "soporte")
    assert services.deflection_figures(user("agq")) == {"read": 3, "not_opened": 0}
    assert services.form_sent(interno, "", ticket) == 0  # a form sent without JavaScript


def test_figures_are_per_institution_for_the_aiq_and_whole_for_the_agq(app):
    services.read_suggestion(user("interno"), _token(), make_article().id, "")
    services.read_suggestion(user("interno_b"), _token(), make_article().id, "")
    services.read_suggestion(user("interno_b"), _token(), make_article().id, "")
    assert services.deflection_figures(user("aiq")) == {"read": 1, "not_opened": 1}
    assert services.deflection_figures(user("aiq_b")) == {"read": 2, "not_opened": 2}
    assert services.deflection_figures(user("agq")) == {"read": 3, "not_opened": 3}
    for key in ("focal", "interno"):
        with pytest.raises(PermissionDenied):
            services.deflection_figures(user(key))


def test_a_suggestion_must_be_readable_published_and_named_by_a_real_form(app):
    interno = user("interno")
    with pytest.raises(NotFound):
        services.read_suggestion(interno, _token(), make_article("aiq_b").id, "soporte")
    with pytest.raises(NotFound):
        services.read_suggestion(interno, _token(), make_article("aiq", status="draft").id, "")
    article = make_article()
    for token in ("", "corto", "x" * 65, "ñ" * 20, None, 12345678901234567890):
        with pytest.raises(ValidationFailed):
            services.read_suggestion(interno, token, article.id, "soporte")
    with pytest.raises(ValidationFailed):
        services.read_suggestion(interno, _token(), article.id, "no-existe")
    assert Deflection.select().count() == 0


def test_suggestions_find_published_articles_for_a_title_being_typed(app):
    published = make_article("aiq", title="Certificado de firma vencido", body="Renuévelo.")
    make_article("aiq", title="Certificado en borrador", status="draft")
    make_article("aiq_b", title="Certificado de B", body="Solo para B.")
    focal = user("focal")
    found = [h.article.id for h in services.suggestions(focal, "certificado", "soporte")]
    assert found == [published.id]  # not A's draft (the focal user may edit it), nor B's
    # a title that uses a word the article does not have still finds it by the others
    more = services.suggestions(user("interno"), "mi certificado no sirve para firmar", "soporte")
    assert published.id in [h.article.id for h in more]
    assert services.suggestions(user("interno"), "ce") == []
    assert services.suggestions(user("interno"), None) == []


# ----------------------------------------------------------------- drafts from tickets


def test_a_draft_takes_the_title_and_the_agents_last_public_answer(app):
    ticket = make_ticket(title="No puedo firmar")
    focal = user("focal")
    services.add_comment(focal, ticket.id, "Primera respuesta")
    services.add_comment(focal, ticket.id, "Nota para el equipo", internal=True)
    services.transition(focal, ticket.id, "resolver", comment="Renueve el certificado.")
    services.add_comment(user("interno"), ticket.id, "¡Gracias!")  # the requester's, not an answer
    draft = services.draft_from_ticket(user("aiq"), ticket.id)
    assert draft["title"] == "No puedo firmar"
    assert draft["body"] == "Renueve el certificado."
    assert draft["source_ticket_id"] == ticket.id
    article = services.create_article(
        user("aiq"),
        title=draft["title"],
        body=draft["body"],
        tags=[],
        category="",
        language="es",
        status="draft",
        source_ticket_id=ticket.id,
    )
    assert article.source_ticket_id == ticket.id
    created = ArticleEvent.get(ArticleEvent.article == article.id)
    assert created.data["source_ticket"] == ticket.id


def test_a_draft_only_from_a_resolved_ticket_the_editor_may_see(app):
    open_ticket = make_ticket()
    with pytest.raises(Conflict):
        services.draft_from_ticket(user("focal"), open_ticket.id)
    done = resolved_ticket()
    with pytest.raises(NotFound):
        services.draft_from_ticket(user("focal_b"), done.id)
    with pytest.raises(NotFound):
        services.draft_from_ticket(user("agq"), done.id)  # first level stays home
    with pytest.raises(NotFound):
        services.draft_from_ticket(user("focal"), 10**12)
    with pytest.raises(NotFound):
        make_article("focal_b", source_ticket_id=done.id)
    with pytest.raises(Conflict):
        make_article("focal", source_ticket_id=open_ticket.id)
    assert services.draft_from_ticket(user("focal"), done.id)["body"].startswith("Renueve")
