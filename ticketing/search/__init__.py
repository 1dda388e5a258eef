"""Full-text search over everything a person may see: tickets (reference, title, text
field values, comments, file names; internal notes for staff only) and knowledge-base
articles. Spanish-aware on both databases: accents and case ignored, words stemmed,
"phrases" and -exclusions understood.

    text    the query's syntax; folding, stop words and stems (SQLite's side)
    index   the documents, kept current in the transaction of each change; install
    query   search, search_articles, matching_ticket_ids — all from the visibility queries
"""

from ticketing.search.index import differences, index_article, index_ticket, install, reindex
from ticketing.search.query import (
    COUNT_CAP,
    ArticleHit,
    Results,
    TicketHit,
    matching_ticket_ids,
    search,
    search_articles,
)
from ticketing.search.text import Parsed, parse

__all__ = [
    "COUNT_CAP",
    "ArticleHit",
    "differences",
    "Parsed",
    "Results",
    "TicketHit",
    "index_article",
    "index_ticket",
    "install",
    "matching_ticket_ids",
    "parse",
    "reindex",
    "search",
    "search_articles",
]
