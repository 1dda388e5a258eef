"""Keeping the search documents current, in the transaction of the change they index.

PostgreSQL: `search_doc.vector` is a generated column (title weighted A, body B) over the
`mesa_es` configuration, with a GIN index, so every write of a document indexes it.
SQLite: the FTS5 table `search_fts` holds the stemmed words (`ticketing.search.text`),
rewritten with the document.
"""

import peewee as pw

from ticketing.models import Article, Attachment, Comment, SearchDoc, Ticket, now
from ticketing.search.text import PUNCTUATION, indexed

CONFIG = "mesa_es"
MAX_BODY = 200_000  # characters of a document indexed (tsvector's limit is 1 MB)
TEXT_KINDS = {"text", "textarea", "email", "phone", "cedula", "ruc"}
CHOICE_KINDS = {"choice", "multichoice"}

_PUNCT_SQL = PUNCTUATION.replace("'", "''").replace("%", "%%")  # psycopg2 reads % as a mark
_SPACES = " " * len(PUNCTUATION)


def without_punctuation(expression: str) -> str:
    """SQL turning `PUNCTUATION` in `expression` into spaces, as `text.words` splits."""
    return f"translate({expression}, '{_PUNCT_SQL}', '{_SPACES}')"


_PG_COLUMN = f"""DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'search_doc'
                     AND table_schema = current_schema() AND column_name = 'vector'
                     AND is_generated = 'ALWAYS') THEN
        ALTER TABLE search_doc DROP COLUMN IF EXISTS vector;
        ALTER TABLE search_doc ADD COLUMN vector tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('{CONFIG}', {without_punctuation("title")}), 'A') ||
          setweight(to_tsvector('{CONFIG}', {without_punctuation("body")}), 'B')) STORED;
      END IF;
    END $$"""
_SQLITE_INSTALL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body,"
    " tokenize = 'unicode61 remove_diacritics 2')",
)


def _db():
    """The database the documents live in (the app's; a migration's while it binds them)."""
    return SearchDoc._meta.database


def is_postgres() -> bool:
    database = _db()
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def install() -> None:
    """What the search needs besides the models' tables (run after they exist).

    PostgreSQL: the `unaccent` extension (wherever it is installed already), the `mesa_es`
    configuration in the current schema (a copy of `spanish` with `unaccent` before the
    stemmer), the generated column and its GIN index."""
    if not is_postgres():
        for statement in _SQLITE_INSTALL:
            _db().execute_sql(statement)
        return
    _db().execute_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    (schema,) = (
        _db()
        .execute_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'unaccent'"
        )
        .fetchone()
    )
    exists = (
        _db()
        .execute_sql(
            "SELECT 1 FROM pg_ts_config WHERE cfgname = %s"
            " AND cfgnamespace = current_schema()::regnamespace",
            (CONFIG,),
        )
        .fetchone()
    )
    if not exists:
        _db().execute_sql(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.spanish)")
        _db().execute_sql(
            f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR asciiword, asciihword,"
            " hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart"
            f' WITH "{schema}".unaccent, spanish_stem'
        )
    _db().execute_sql(_PG_COLUMN)
    _db().execute_sql(
        "CREATE INDEX IF NOT EXISTS search_doc_vector ON search_doc USING GIN (vector)"
    )


def _field_texts(ticket: Ticket) -> list[str]:
    from ticketing.definitions import ticket_definition
    from ticketing.fields.base import choice_pairs

    texts = []
    for spec in ticket_definition(ticket)["fields"]:
        value = (ticket.fields or {}).get(spec["name"])
        if value in (None, "", []):
            continue
        if spec["kind"] in TEXT_KINDS:
            texts.append(str(value))
        elif spec["kind"] in CHOICE_KINDS:
            labels = dict(choice_pairs(spec))
            chosen = value if isinstance(value, list) else [value]
            texts.extend(labels.get(str(v), str(v)) for v in chosen)
    return texts


def _ticket_docs(ticket: Ticket) -> dict[bool, tuple[str, str]]:
    """internal? -> (title, body) of the ticket's documents as they should be now: the
    public one, and with internal notes or files an internal one holding everything."""
    public, internal = _field_texts(ticket), []
    for body, hidden in (
        Comment.select(Comment.body, Comment.internal)
        .where(Comment.ticket == ticket.id)
        .order_by(Comment.id)
        .tuples()
    ):
        (internal if hidden else public).append(body)
    for name, hidden in (
        Attachment.select(Attachment.filename, Attachment.internal)
        .where(Attachment.ticket == ticket.id)
        .order_by(Attachment.id)
        .tuples()
    ):
        (internal if hidden else public).append(name)
    title = f"{ticket.reference} {ticket.title}"
    docs = {False: (title, "\n".join(public)[:MAX_BODY])}
    if internal:
        docs[True] = (title, "\n".join(public + internal)[:MAX_BODY])
    return docs


def index_ticket(ticket: Ticket) -> None:
    """Rewrite the ticket's documents from what it holds now (3 reads, 2–4 writes)."""
    docs = _ticket_docs(ticket)
    for internal, (title, body) in docs.items():
        shadowed = not internal and True in docs
        _put({"ticket": ticket.id, "internal": internal}, title, body, shadowed=shadowed)
    if True not in docs:
        _drop((SearchDoc.ticket == ticket.id) & (SearchDoc.internal == True))


def _article_doc(article: Article) -> tuple[str, str]:
    """The article's words without its Markdown (snippets show text, not `**` or `##`)."""
    from ticketing.markup import plain_text

    extra = " ".join([article.category or "", *(article.tags or [])])
    return article.title, f"{plain_text(article.body)}\n{extra}"[:MAX_BODY]


def index_article(article: Article) -> None:
    """Rewrite the article's document (its visibility is read from the article itself)."""
    _put({"article": article.id, "internal": False}, *_article_doc(article))


def _put(key: dict, title: str, body: str, *, shadowed: bool = False) -> None:
    body = body[:MAX_BODY]
    where = pw.reduce(lambda a, b: a & b, [getattr(SearchDoc, k) == v for k, v in key.items()])
    doc_id = SearchDoc.select(SearchDoc.id).where(where).scalar()
    values = {"title": title, "body": body, "shadowed": shadowed, "updated_at": now()}
    if doc_id is None:
        doc_id = SearchDoc.insert(**key, **values).execute()
    else:
        SearchDoc.update(**values).where(SearchDoc.id == doc_id).execute()
    if not is_postgres():
        _db().execute_sql("DELETE FROM search_fts WHERE rowid = ?", (doc_id,))
        _db().execute_sql(
            "INSERT INTO search_fts (rowid, title, body) VALUES (?, ?, ?)",
            (doc_id, " ".join(indexed(title)), " ".join(indexed(body))),
        )


def _drop(where) -> None:
    if not is_postgres():
        ids = [d for (d,) in SearchDoc.select(SearchDoc.id).where(where).tuples()]
        for doc_id in ids:
            _db().execute_sql("DELETE FROM search_fts WHERE rowid = ?", (doc_id,))
    SearchDoc.delete().where(where).execute()


def reindex(batch: int = 500) -> int:
    """Every ticket's and article's documents, from scratch; returns how many were written."""
    written = 0
    with _db().atomic():
        SearchDoc.delete().execute()
        if not is_postgres():
            _db().execute_sql("DELETE FROM search_fts")
    last = 0
    while True:
        with _db().atomic():
            tickets = list(Ticket.select().where(Ticket.id > last).order_by(Ticket.id).limit(batch))
            for ticket in tickets:
                index_ticket(ticket)
        if not tickets:
            break
        last = tickets[-1].id
        written += len(tickets)
    with _db().atomic():
        for article in Article.select():
            index_article(article)
            written += 1
    return written


def differences(limit: int = 50) -> list[str]:
    """Where the stored documents differ from what the tickets and articles hold now
    (empty when the index is current); the tests' teardown asserts it after every test."""
    stored = {}
    for row in SearchDoc.select(
        SearchDoc.id,
        SearchDoc.ticket,
        SearchDoc.article,
        SearchDoc.internal,
        SearchDoc.title,
        SearchDoc.body,
        SearchDoc.shadowed,
    ).tuples():
        doc_id, ticket_id, article_id, internal, title, body, shadowed = row
        key = ("ticket", ticket_id, internal) if ticket_id else ("article", article_id, False)
        stored[key] = (title, body, bool(shadowed), doc_id)
    expected = {}
    for ticket in Ticket.select():
        docs = _ticket_docs(ticket)
        for internal, (title, body) in docs.items():
            shadowed = not internal and True in docs
            expected[("ticket", ticket.id, internal)] = (title, body, shadowed)
    for article in Article.select():
        expected[("article", article.id, False)] = (*_article_doc(article), False)
    found = []
    for key in sorted(set(stored) | set(expected), key=str):
        have, want = stored.get(key), expected.get(key)
        if have is None or want is None or have[:3] != want:
            found.append(f"{key}: stored {have and have[:3]!r}, expected {want!r}")
        elif not is_postgres():
            fts = (
                _db()
                .execute_sql("SELECT title, body FROM search_fts WHERE rowid = ?", (have[3],))
                .fetchone()
            )
            if fts != (" ".join(indexed(want[0])), " ".join(indexed(want[1]))):
                found.append(f"{key}: FTS5 row {fts!r} is stale")
    return found[:limit]
