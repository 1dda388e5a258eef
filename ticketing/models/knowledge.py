"""The knowledge base: articles people read before (or instead of) opening a ticket.

An article with no institution is SGE's, for everyone; one with an institution is that
institution's own. `ArticleEvent` is its history, `ArticleVote` one person's "did it
help", `Deflection` a suggestion read from the new-ticket form (and whether a ticket was
opened after it all the same).
"""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import Institution, User
from ticketing.models.tickets import Ticket

DRAFT, PUBLISHED = "draft", "published"
ARTICLE_STATUSES = (DRAFT, PUBLISHED)
LANGUAGES = ("es", "en")


class Article(BaseModel):
    title = pw.CharField(max_length=255)
    body = pw.TextField(default="")  # Markdown, rendered by `ticketing.markup`
    tags = JSONField(default=list)
    category = pw.CharField(max_length=64, default="")
    language = pw.CharField(max_length=2, default="es")
    institution = pw.ForeignKeyField(Institution, null=True, backref="+", index=False)
    status = pw.CharField(max_length=16, default=DRAFT)
    author = pw.ForeignKeyField(User, null=True, backref="+")
    source_ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    helpful = pw.IntegerField(default=0)
    not_helpful = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=now)
    updated_at = pw.DateTimeField(default=now)
    published_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)  # optimistic lock, as tickets

    class Meta:
        indexes = ((("institution", "status", "updated_at"), False),)

    def __str__(self):
        return self.title


class ArticleEvent(BaseModel):
    """Append-only history of an article: who created, edited, published or withdrew it."""

    article = pw.ForeignKeyField(Article, backref="events", on_delete="CASCADE", index=True)
    actor = pw.ForeignKeyField(User, null=True, backref="+")
    at = pw.DateTimeField(default=now)
    kind = pw.CharField(max_length=32)
    data = JSONField(default=dict)


class ArticleVote(BaseModel):
    """One person's answer to "¿Le sirvió este artículo?" (changeable, counted once)."""

    article = pw.ForeignKeyField(Article, backref="votes", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    helpful = pw.BooleanField()
    at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("article", "user"), True),)


class Deflection(BaseModel):
    """An article opened from the suggestions of a new-ticket form.

    `token` names one filling of the form; `ticket` is set when that form was sent all the
    same. Rows whose token never opened a ticket are the tickets the article spared.
    """

    token = pw.CharField(max_length=64, index=True)
    article = pw.ForeignKeyField(Article, backref="+", on_delete="CASCADE", index=True)
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    ticket_type = pw.CharField(max_length=64, default="")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("token", "article"), True),)
