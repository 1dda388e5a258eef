"""Finding what a person may see: every search starts from the visibility queries.

A ticket search costs the same four statements whatever it finds: the page's ids by rank
with the total, those tickets with what a row shows, their snippets, the articles.
"""

import datetime as dt
from dataclasses import dataclass, field

import peewee as pw
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ticketing.models import AGQ, AIQ, FOCAL, Article, SearchDoc, Ticket, TicketType
from ticketing.search.index import CONFIG, is_postgres
from ticketing.search.text import Parsed, parse
from ticketing.visibility import visible_articles, visible_tickets, with_list_relations

COUNT_CAP = 1000  # a total past it reads "1000+"
_START, _STOP = "\u27e6", "\u27e7"  # ts_headline's marks, replaced by <mark> once escaped
_LTGT = "\ue000\ue001"  # < and > while ts_headline reads the text (private-use characters)
_HEADLINE = f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12, MaxFragments=2"
_FTS = pw.Table("search_fts", ("rowid", "title", "body", "search_fts"))


@dataclass
class TicketHit:
    ticket: Ticket
    snippet: Markup
    rank: float


@dataclass
class ArticleHit:
    article: Article
    snippet: Markup
    rank: float


@dataclass
class Results:
    query: Parsed
    tickets: list[TicketHit] = field(default_factory=list)
    ticket_total: int = 0
    ticket_capped: bool = False
    articles: list[ArticleHit] = field(default_factory=list)
    problem: str | None = None
    page: int = 1
    per_page: int = 20

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.ticket_total

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP}+" if self.ticket_capped else str(self.ticket_total)


class _Match:
    """The backend's reading of one parsed query: which documents match, and how well."""

    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        if is_postgres():
            self.tsquery = pw.fn.websearch_to_tsquery(pw.SQL(f"'{CONFIG}'"), parsed.websearch())
            self.where = pw.Expression(SearchDoc.vector, "@@", self.tsquery)
            self.rank = pw.fn.ts_rank_cd(SearchDoc.vector, self.tsquery)
            self.carried = ()
        else:
            # bm25() is refused inside an aggregate: the matches are scored in a subquery
            self.matches = (
                _FTS.select(
                    _FTS.rowid.alias("doc_id"),
                    (pw.fn.bm25(_FTS.search_fts, 10.0, 1.0) * -1).alias("score"),  # as PG
                )
                .where(pw.Expression(_FTS.search_fts, "MATCH", parsed.fts5()))
                .limit(2**62)  # a LIMIT keeps SQLite from flattening it into the aggregate
                .alias("fts")
            )
            self.where = pw.Value(1) == 1
            self.rank = self.matches.c.score
            self.carried = (self.matches.c.score.alias("score"),)

    def score(self, doc, candidates):
        """How well a candidate document matches: ranked only once it is a candidate."""
        if is_postgres():
            return pw.fn.ts_rank_cd(doc.vector, self.tsquery)
        return candidates.c.score

    def join(self, query):
        """`query` (over search_doc) joined with the FTS5 matches where there are such."""
        if is_postgres():
            return query
        return query.join(self.matches, on=(self.matches.c.doc_id == SearchDoc.id))

    def snippets(self, docs) -> dict:
        """doc id -> highlighted snippet of title and body, for the few `docs` ids."""
        if not docs:
            return {}
        if is_postgres():
            # ts_headline drops what looks like a tag: < and > are kept aside, then escaped
            text = pw.fn.translate(SearchDoc.title.concat(" ").concat(SearchDoc.body), "<>", _LTGT)
            headline = pw.fn.ts_headline(pw.SQL(f"'{CONFIG}'"), text, self.tsquery, _HEADLINE)
            rows = SearchDoc.select(SearchDoc.id, headline).where(SearchDoc.id.in_(docs)).tuples()
            return {doc_id: _marked(text) for doc_id, text in rows}
        rows = SearchDoc.select(SearchDoc.id, SearchDoc.title, SearchDoc.body)
        return {
            doc_id: self.parsed.highlight(f"{title} {body}".strip())
            for doc_id, title, body in rows.where(SearchDoc.id.in_(docs)).tuples()
        }


def _marked(headline: str) -> Markup:
    escaped = str(escape(headline or ""))
    escaped = escaped.replace(_LTGT[0], "&lt;").replace(_LTGT[1], "&gt;")
    return Markup(escaped.replace(_START, "<mark>").replace(_STOP, "</mark>"))


def _internal_allowed(user):
    """The one document of each ticket `user` searches: the internal one (everything) for
    support staff where there is one, never for the ticket's requester; else the public."""
    public = SearchDoc.internal == False
    if user is not None and getattr(user, "role", None) in (FOCAL, AIQ, AGQ):
        reads_notes = Ticket.requester != user.id
        return (SearchDoc.internal == True) & reads_notes | public & (
            (SearchDoc.shadowed == False) | ~reads_notes
        )
    return public


def _filtered(query, user, filters: dict | None):
    """`filters` (type slug, state, institution for the AGQ, requester, date range) applied."""
    filters = filters or {}
    if filters.get("type"):
        types = TicketType.select(TicketType.id).where(TicketType.slug == str(filters["type"]))
        query = query.where(Ticket.type.in_(types))
    if filters.get("state"):
        query = query.where(Ticket.state == str(filters["state"]))
    if filters.get("institution") and getattr(user, "role", None) == AGQ:
        query = query.where(Ticket.institution == int(filters["institution"]))
    if filters.get("requester"):
        query = query.where(Ticket.requester == int(filters["requester"]))
    if isinstance(filters.get("desde"), dt.date):
        query = query.where(Ticket.created_at >= _midnight(filters["desde"]))
    if isinstance(filters.get("hasta"), dt.date):
        query = query.where(Ticket.created_at < _midnight(filters["hasta"]) + dt.timedelta(days=1))
    return query


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _ticket_docs(user, match: _Match, filters):
    """(ticket, doc) pairs the person may see that match: visibility first, then the text."""
    query = visible_tickets(user).join(SearchDoc, on=(SearchDoc.ticket == Ticket.id))
    query = match.join(query).where(match.where, _internal_allowed(user))
    return _filtered(query, user, filters)


def matching_ticket_ids(user, q):
    """A subquery of the ids of tickets `user` may see that match `q` (a list's search);
    None when `q` has no word to look for."""
    parsed = parse(q)
    if not parsed.searchable and parsed.reference is None:
        return None
    ids = visible_tickets(user).select(Ticket.id)
    found = None
    if parsed.searchable:
        found = _ticket_docs(user, _Match(parsed), None).select(Ticket.id)
    if parsed.reference is not None:
        by_reference = Ticket.id == parsed.reference
        return (
            ids.where(by_reference | Ticket.id.in_(found))
            if found is not None
            else ids.where(by_reference)
        )
    return found


def search(user, q, filters=None, *, page=1, per_page=20, articles=5) -> Results:
    """Tickets (ranked, a page of them, with a capped total) and articles matching `q`."""
    parsed = parse(q)
    page = max(1, min(int(page or 1), COUNT_CAP // max(per_page, 1) + 1))
    results = Results(query=parsed, page=page, per_page=per_page)
    if not parsed.searchable:
        results.problem = (
            _("Esas palabras son demasiado comunes para buscarlas: añada otra.")
            if parsed.only_common
            else _("Escriba al menos una palabra para buscar.")
        )
        if parsed.reference is None:
            return results
    reference = None
    if parsed.reference is not None:
        reference = _filtered(visible_tickets(user), user, filters).where(
            Ticket.id == parsed.reference
        )
    if parsed.searchable:
        match = _Match(parsed)
        docs = _ticket_docs(user, match, filters)
        # rank the newest COUNT_CAP + 1 matching documents only: a common word matches
        # most of a million tickets, and ranking them all would read every one
        candidates = (
            docs.select(Ticket.id.alias("tid"), SearchDoc.id.alias("did"), *match.carried)
            .order_by(SearchDoc.id.desc())
            .limit(COUNT_CAP + 1)
            .alias("candidates")
        )
        ranked_doc = SearchDoc.alias("ranked_doc")
        score = match.score(ranked_doc, candidates)
        best = pw.fn.MAX(score)
        rows = list(
            ranked_doc.select(
                candidates.c.tid,
                best.alias("score"),
                pw.fn.MAX(ranked_doc.id).alias("doc"),
                pw.fn.COUNT(pw.SQL("*")).over().alias("tickets"),
                pw.fn.SUM(pw.fn.COUNT(pw.SQL("*"))).over().alias("docs"),
            )
            .join(candidates, on=(ranked_doc.id == candidates.c.did))
            .group_by(candidates.c.tid)
            .order_by(best.desc(), candidates.c.tid.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
            .tuples()
        )
        ranked = [(ticket_id, score, doc) for ticket_id, score, doc, _t, _d in rows]
        if rows:
            total, capped = rows[0][3], rows[0][4] > COUNT_CAP
        else:  # a page past the last: how many there are, read up to the cap
            total = docs.select(Ticket.id).distinct().order_by().limit(COUNT_CAP + 1).count()
            capped = total > COUNT_CAP
    else:
        match, total, ranked, capped = None, 0, [], False
    ids = [ticket_id for ticket_id, _score, _doc in ranked]
    if reference is not None and parsed.reference not in ids:
        # found by its reference though its words may not match: first, counted once
        if reference.select(Ticket.id).exists():
            total += 1
            ids = [parsed.reference, *ids][:per_page] if page == 1 else ids
    results.ticket_total = min(total, COUNT_CAP)
    results.ticket_capped = capped
    tickets = {}
    if ids:
        tickets = {
            t.id: t for t in with_list_relations(visible_tickets(user)).where(Ticket.id.in_(ids))
        }
    snippets = match.snippets([doc for _id, _score, doc in ranked]) if match else {}
    scores = {ticket_id: (score, doc) for ticket_id, score, doc in ranked}
    for ticket_id in ids:
        if ticket_id not in tickets:
            continue
        score, doc = scores.get(ticket_id, (None, None))
        snippet = snippets.get(doc) or Markup(escape(tickets[ticket_id].title))
        results.tickets.append(TicketHit(tickets[ticket_id], snippet, float(score or 0)))
    if articles and parsed.searchable:
        results.articles = search_articles(user, q, limit=articles)
    return results


def search_articles(user, q, *, limit=10, language=None, category=None) -> list[ArticleHit]:
    """Articles `user` may read that match `q`, best first, with snippets."""
    parsed = parse(q)
    if not parsed.searchable:
        return []
    match = _Match(parsed)
    query = visible_articles(user).join(SearchDoc, on=(SearchDoc.article == Article.id))
    query = match.join(query).where(match.where)
    if language:
        query = query.where(Article.language == str(language))
    if category:
        query = query.where(Article.category == str(category))
    rows = list(
        query.select_extend(match.rank.alias("score"), SearchDoc.id.alias("doc"))
        .order_by(match.rank.desc(), Article.id.desc())
        .limit(max(1, min(int(limit), 50)))
        .objects()  # score and doc on the article itself, not on its joined document
    )
    snippets = match.snippets([a.doc for a in rows])
    return [
        ArticleHit(a, snippets.get(a.doc) or Markup(escape(a.title)), float(a.score or 0))
        for a in rows
    ]
