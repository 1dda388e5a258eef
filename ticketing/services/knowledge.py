"""The knowledge base: writing articles, "did it help" votes, and deflection.

The AGQ writes SGE's articles (no institution: for everyone); an AIQ or focal user their
own institution's; an internal user none. Every write checks `editable_articles`, keeps
an `ArticleEvent` and re-indexes the article, in one transaction. A deflection is an
article read from the new-ticket form's suggestions; the form's token ties it to the
ticket sent afterwards, if one was.
"""

import re

import peewee
from flask_babel import gettext as _

from ticketing import search
from ticketing.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from ticketing.models import (
    AGQ,
    AIQ,
    ARTICLE_STATUSES,
    DONE,
    DRAFT,
    FOCAL,
    LANGUAGES,
    PUBLISHED,
    Article,
    ArticleEvent,
    ArticleVote,
    Comment,
    Deflection,
    TicketType,
    User,
    now,
)
from ticketing.outbox import unit_of_work
from ticketing.services.common import whole_number
from ticketing.visibility import editable_articles, get_visible_ticket, visible_articles

TITLE_MAX = 255
BODY_MAX = 100_000
CATEGORY_MAX = 64
TAGS_MAX = 20
TAG_MAX = 40
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(16..48)
SUGGEST_MIN = 3  # characters of a title before anything is suggested
SUGGEST_TEXT_MAX = 200  # characters of a title the suggestions search with
WORD = re.compile(r"\w{4,}")
EDITOR_ROLES = (FOCAL, AIQ, AGQ)
FIELDS = ("title", "body", "tags", "category", "language", "status")


def may_write_articles(actor) -> bool:
    """Whether `actor` writes articles at all (the AGQ SGE's, an AIQ or focal user theirs)."""
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and actor.active
        and actor.role in EDITOR_ROLES
    )


def deflection_token_ok(token) -> bool:
    """Whether `token` can name a filling of the new-ticket form."""
    return isinstance(token, str) and TOKEN.fullmatch(token) is not None


def _institution_for(actor, institution_id):
    """The institution an article of `actor` belongs to: none for the AGQ, theirs for others."""
    forced = None if actor.role == AGQ else actor.institution_id
    if institution_id not in (None, "") and whole_number(institution_id) != forced:
        raise PermissionDenied(_("No puede escribir artículos para esa institución."))
    return forced


def _tags(value) -> tuple[list[str], str | None]:
    if value is None:
        return [], None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        return [], _("Escriba las etiquetas separadas por comas.")
    tags, seen = [], set()
    for tag in (t.strip() for t in value):
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        return tags, _("Máximo %(n)s etiquetas.", n=TAGS_MAX)
    if any(len(t) > TAG_MAX for t in tags):
        return tags, _("Cada etiqueta tiene como máximo %(n)s caracteres.", n=TAG_MAX)
    return tags, None


def clean_article(data: dict) -> dict:
    """An article's values checked and tidied (only the keys `data` has), or
    ValidationFailed with one Spanish message per field."""
    values, errors = {}, {}
    for name in ("title", "body", "category", "language", "status"):
        if name not in data:
            continue
        value = data[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = _("Valor no válido.")
            continue
        values[name] = value if name == "body" else value.strip()
    if "tags" in data:
        values["tags"], message = _tags(data["tags"])
        if message:
            errors["tags"] = message
    title = values.get("title")
    if title is not None and "title" not in errors:
        if not title:
            errors["title"] = _("Este campo es obligatorio.")
        elif len(title) > TITLE_MAX:
            errors["title"] = _("Máximo %(n)s caracteres.", n=TITLE_MAX)
    if "body" in values and "body" not in errors and len(values["body"]) > BODY_MAX:
        errors["body"] = _("Máximo %(n)s caracteres.", n=f"{BODY_MAX:,}".replace(",", "."))
    if "category" in values and len(values["category"]) > CATEGORY_MAX:
        errors["category"] = _("Máximo %(n)s caracteres.", n=CATEGORY_MAX)
    if "language" in values and values["language"] not in LANGUAGES:
        errors["language"] = _("Elija español o inglés.")
    if "status" in values and values["status"] not in ARTICLE_STATUSES:
        errors["status"] = _("Elija borrador o publicado.")
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    return values


def _source_ticket(actor, ticket_id):
    """A resolved ticket `actor` may see, for an article written from its answer."""
    if ticket_id in (None, ""):
        return None
    ticket = get_visible_ticket(actor, whole_number(ticket_id))
    if ticket is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    if ticket.state_category != DONE:
        raise Conflict(_("Solo se crea un artículo con la respuesta de un ticket resuelto."))
    return ticket


def _event(article, actor, kind, data=None):
    ArticleEvent.create(article=article.id, actor=actor.id, kind=kind, data=data or {})


def create_article(
    actor,
    *,
    title,
    body,
    tags,
    category,
    language,
    status,
    institution_id=None,
    source_ticket_id=None,
):
    """A new article: SGE's (for everyone) by the AGQ, an institution's by its AIQ or focal."""
    if not may_write_articles(actor):
        raise PermissionDenied(_("Su rol no puede escribir artículos."))
    institution = _institution_for(actor, institution_id)
    values = clean_article(
        {
            "title": title,
            "body": body,
            "tags": tags,
            "category": category,
            "language": language,
            "status": status,
        }
    )
    source = _source_ticket(actor, source_ticket_id)
    with unit_of_work():
        at = now()
        article = Article.create(
            **values,
            institution=institution,
            author=actor.id,
            source_ticket=source.id if source else None,
            created_at=at,
            updated_at=at,
            published_at=at if values["status"] == PUBLISHED else None,
        )
        data = {"title": article.title, "status": article.status}
        if source is not None:
            data["source_ticket"] = source.id
        _event(article, actor, "created", data)
        search.index_article(article)
    return article


def editable_article(actor, article_id) -> Article:
    """The article if `actor` may write it; NotFound when not visible, else PermissionDenied."""
    article_id = whole_number(article_id)
    article = editable_articles(actor).where(Article.id == article_id).first()
    if article is not None:
        return article
    if visible_articles(actor).where(Article.id == article_id).exists():
        raise PermissionDenied(_("No puede editar este artículo."))
    raise NotFound(_("El artículo no existe o no está a su alcance."))


def visible_article(actor, article_id) -> Article:
    """The article if `actor` may read it, else NotFound."""
    article = visible_articles(actor).where(Article.id == whole_number(article_id)).first()
    if article is None:
        raise NotFound(_("El artículo no existe o no está a su alcance."))
    return article


def _change_kind(before: str, after: str) -> str:
    if before != after:
        return "published" if after == PUBLISHED else "withdrawn"
    return "edited"


def update_article(actor, article_id, data: dict, expected_version) -> Article:
    """Change some of an article's values (the keys `data` has), refusing a stale edit."""
    article = editable_article(actor, article_id)
    values = clean_article({k: v for k, v in (data or {}).items() if k in FIELDS})
    expected = whole_number(expected_version)
    if expected is None:
        message = _("La versión del artículo no es válida. Recargue la página.")
        raise ValidationFailed(message, fields={"version": message})
    stale = StaleVersion(
        _(
            "Otra persona modificó este artículo mientras usted lo editaba. Recargue e intente de nuevo."
        )
    )
    if expected != article.version:
        raise stale
    changes = {
        name: {"from": getattr(article, name), "to": value}
        for name, value in values.items()
        if getattr(article, name) != value
    }
    if not changes:
        return article
    with unit_of_work():
        updates = {name: change["to"] for name, change in changes.items()}
        updates["updated_at"] = now()
        updates["version"] = expected + 1
        if updates.get("status") == PUBLISHED and article.published_at is None:
            updates["published_at"] = updates["updated_at"]
        rows = (
            Article.update(**updates)
            .where((Article.id == article.id) & (Article.version == expected))
            .execute()
        )
        if rows != 1:
            raise stale
        for name, value in updates.items():
            setattr(article, name, value)
        kind = _change_kind(changes.get("status", {}).get("from", article.status), article.status)
        _event(article, actor, kind, {"changes": changes})
        search.index_article(article)
    return article


def article_history(actor, article_id):
    """An article's history, oldest first, for those who may edit it."""
    article = editable_article(actor, article_id)
    return (
        ArticleEvent.select(ArticleEvent, User.id, User.full_name)
        .join(User, peewee.JOIN.LEFT_OUTER, on=(ArticleEvent.actor == User.id), attr="actor")
        .where(ArticleEvent.article == article.id)
        .order_by(ArticleEvent.at, ArticleEvent.id)
    )


def vote(actor, article_id, helpful) -> Article:
    """ "¿Le sirvió este artículo?": one answer per person, changeable, counted once."""
    article = visible_article(actor, article_id)
    if article.status != PUBLISHED:
        raise Conflict(_("Solo se valoran artículos publicados."))
    if not isinstance(helpful, bool):
        message = _("Responda sí o no.")
        raise ValidationFailed(message, fields={"helpful": message})
    column = {True: Article.helpful, False: Article.not_helpful}
    with unit_of_work():
        mine = ArticleVote.get_or_none(
            (ArticleVote.article == article.id) & (ArticleVote.user == actor.id)
        )
        if mine is None:
            try:
                with unit_of_work():
                    ArticleVote.create(article=article.id, user=actor.id, helpful=helpful)
            except peewee.IntegrityError:  # the same person's other request got there first
                mine = ArticleVote.get(
                    (ArticleVote.article == article.id) & (ArticleVote.user == actor.id)
                )
            else:
                counter = column[helpful]
                Article.update({counter: counter + 1}).where(Article.id == article.id).execute()
        if mine is not None and mine.helpful != helpful:
            changed = (
                ArticleVote.update(helpful=helpful, at=now())
                .where((ArticleVote.id == mine.id) & (ArticleVote.helpful == mine.helpful))
                .execute()
            )
            if changed:
                up, down = column[helpful], column[mine.helpful]
                Article.update({up: up + 1, down: down - 1}).where(
                    Article.id == article.id
                ).execute()
    return Article.get_by_id(article.id)


def my_vote(actor, article) -> bool | None:
    """What `actor` answered about `article` (None: not yet)."""
    row = ArticleVote.get_or_none(
        (ArticleVote.article == article.id) & (ArticleVote.user == actor.id)
    )
    return row.helpful if row is not None else None


def _token(token) -> str:
    if not deflection_token_ok(token):
        message = _("El formulario no es válido. Recargue la página.")
        raise ValidationFailed(message, fields={"token": message})
    return token


def read_suggestion(actor, token, article_id, ticket_type="") -> Deflection:
    """Record that `actor` opened an article suggested by the form named `token` (once)."""
    token = _token(token)
    ticket_type = ticket_type or ""
    if not isinstance(ticket_type, str) or (
        ticket_type and not TicketType.select().where(TicketType.slug == ticket_type).exists()
    ):
        message = _("No existe ese tipo de ticket.")
        raise ValidationFailed(message, fields={"tipo": message})
    article = visible_article(actor, article_id)
    if article.status != PUBLISHED:
        raise Conflict(_("Solo se sugieren artículos publicados."))
    found = Deflection.get_or_none((Deflection.token == token) & (Deflection.article == article.id))
    if found is not None:
        return found
    with unit_of_work():
        # the form may already have been sent (read in another tab): say so at once
        sent = (
            Deflection.select(Deflection.ticket)
            .where((Deflection.token == token) & Deflection.ticket.is_null(False))
            .first()
        )
        try:
            with unit_of_work():
                return Deflection.create(
                    token=token,
                    article=article.id,
                    user=actor.id,
                    ticket_type=ticket_type,
                    ticket=sent.ticket_id if sent else None,
                )
        except peewee.IntegrityError:  # read twice at once: the first one counts
            pass
    return Deflection.get((Deflection.token == token) & (Deflection.article == article.id))


def form_sent(actor, token, ticket) -> int:
    """The form named `token` opened `ticket` after all: its deflections did not spare it."""
    if not deflection_token_ok(token):
        return 0  # a form sent from a page that did not carry one: nothing was read there
    if get_visible_ticket(actor, ticket.id) is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    with unit_of_work():
        return (
            Deflection.update(ticket=ticket.id)
            .where(
                (Deflection.token == token)
                & (Deflection.user == actor.id)
                & Deflection.ticket.is_null()
            )
            .execute()
        )


def deflection_figures(actor) -> dict:
    """Suggestions read and tickets not opened after reading one (AGQ: all; AIQ: theirs)."""
    if not may_write_articles(actor) or actor.role not in (AGQ, AIQ):
        raise PermissionDenied(_("Estas cifras son para el AGQ y el AIQ."))
    query = Deflection.select(
        peewee.fn.COUNT(Deflection.id),
        peewee.fn.COUNT(
            peewee.fn.DISTINCT(
                peewee.Case(None, [(Deflection.ticket.is_null(), Deflection.token)], None)
            )
        ),
    )
    if actor.role == AIQ:
        query = query.join(User, on=(Deflection.user == User.id)).where(
            User.institution == actor.institution_id
        )
    read, spared = query.tuples().get()
    return {"read": read or 0, "not_opened": spared or 0}


def draft_from_ticket(actor, ticket_id) -> dict:
    """An article's first draft from a resolved ticket: its title and the agents' last answer."""
    if not may_write_articles(actor):
        raise PermissionDenied(_("Su rol no puede escribir artículos."))
    ticket = get_visible_ticket(actor, whole_number(ticket_id))
    if ticket is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    if ticket.state_category != DONE:
        raise Conflict(_("Solo se crea un artículo con la respuesta de un ticket resuelto."))
    answer = (
        Comment.select(Comment.body)
        .join(User, on=(Comment.author == User.id))
        .where(
            (Comment.ticket == ticket.id)
            & (Comment.internal == False)
            & (Comment.author != ticket.requester_id)
            & User.role.in_(EDITOR_ROLES)
        )
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .first()
    )
    return {
        "title": ticket.title,
        "body": answer.body if answer is not None else "",
        "source_ticket_id": ticket.id,
        "language": "es",
        "status": DRAFT,
    }


def suggestions(actor, text, ticket_type=None, limit=5) -> list:
    """Published articles that match what a person is typing as a new ticket's title.

    The words are searched together first; when that finds fewer than `limit`, each
    longer word on its own fills the rest, best match first (a title rarely uses all of
    an article's words).
    """
    text = text.strip() if isinstance(text, str) else ""
    if len(text) < SUGGEST_MIN:
        return []
    text = text[:SUGGEST_TEXT_MAX]
    hits, seen = [], set()

    def add(found):
        for hit in found:
            if hit.article.id not in seen and hit.article.status == PUBLISHED:
                seen.add(hit.article.id)
                hits.append(hit)

    add(search.search_articles(actor, text, limit=limit))
    words = sorted(set(WORD.findall(text.casefold())), key=len, reverse=True)[:5]
    if len(hits) < limit and len(words) > 1:
        extra = []
        for word in words:
            extra.extend(search.search_articles(actor, word, limit=limit))
        extra.sort(key=lambda h: h.rank, reverse=True)
        add(extra)
    return hits[:limit]
