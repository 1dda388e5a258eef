"""What full-text search reads: one document per ticket and audience, one per article.

A ticket has a public document (reference, title, text-like field values, public
comments, names of public files) and, when it has internal notes or files, an internal one
holding all of that and them, which only those who may read internal notes search (in
place of the public one). The words are indexed
by `ticketing.search`: on PostgreSQL in the generated `vector` column (a GIN index), on
SQLite in the FTS5 table `search_fts`, whose rowid is the document's id.
"""

import peewee as pw

from ticketing.models.base import BaseModel, now
from ticketing.models.knowledge import Article
from ticketing.models.tickets import Ticket


class TSVectorField(pw.Field):
    """PostgreSQL's tsvector; on SQLite an unused column (FTS5 holds the words there)."""

    field_type = "TSVECTOR"


class SearchDoc(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="CASCADE")
    article = pw.ForeignKeyField(Article, null=True, backref="+", on_delete="CASCADE")
    internal = pw.BooleanField(default=False)
    # a public document whose ticket also has an internal one, which then holds the whole
    # ticket: staff who may read notes search that one, so words AND across both texts
    shadowed = pw.BooleanField(default=False)
    title = pw.TextField(default="")
    body = pw.TextField(default="")
    vector = TSVectorField(null=True)  # generated from title and body on PostgreSQL
    updated_at = pw.DateTimeField(default=now)

    class Meta:
        table_name = "search_doc"
        indexes = (
            (("ticket", "internal"), True),
            (("article",), True),
        )
