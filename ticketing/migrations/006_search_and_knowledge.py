"""Peewee migrations -- 006_search_and_knowledge.py: the knowledge base and full-text search.

Creates the articles (with their history, votes and deflections) and the search
documents; on PostgreSQL the `unaccent` extension, the `mesa_es` text search configuration,
the generated `vector` column and its GIN index; on SQLite the FTS5 table. Then indexes
every ticket already there (what `flask --app wsgi search reindex` does).
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import Article, ArticleEvent, ArticleVote, Deflection, SearchDoc

    return [Article, ArticleEvent, ArticleVote, Deflection, SearchDoc]


def _create(database) -> None:
    from ticketing import search
    from ticketing.models import MODELS

    with database.bind_ctx(MODELS):  # the database being migrated, not the app's
        database.create_tables(_tables())
        search.install()
        search.reindex()


def _drop(database) -> None:
    if not isinstance(database, pw.PostgresqlDatabase):
        database.execute_sql("DROP TABLE IF EXISTS search_fts")
    from ticketing.models import MODELS

    with database.bind_ctx(MODELS):
        database.drop_tables(list(reversed(_tables())), safe=True)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_create, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_drop, database)
