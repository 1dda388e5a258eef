"""The index follows every change in the change's own transaction, and only if it commits.

An edit of fields or title, a comment, a note, a file: each is found by the next search,
even before the surrounding transaction commits (no job, no delay), and the words it
replaced are no longer found. A transaction rolled back leaves the index as it was.
`flask --app wsgi search reindex` rebuilds from what the tickets hold, as a process on a
SQLite file: what the index had missed is found afterwards.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_ticket, user
from ticketing import search, services
from ticketing.db import db
from ticketing.errors import StaleVersion
from ticketing.fields import UploadedFile
from ticketing.outbox import unit_of_work

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _ids(person, q) -> tuple[list[int], list[int]]:
    """What the search page and a list's search find for `person`: (page ids, listed ids)."""
    page = [hit.ticket.id for hit in search.search(person, q, articles=0).tickets]
    listed = search.matching_ticket_ids(person, q)
    return page, ([] if listed is None else sorted(row.id for row in listed))


def _finds(person, q, ticket_id) -> bool:
    page, listed = _ids(person, q)
    assert (page == [ticket_id]) == (listed == [ticket_id]), (q, page, listed)
    assert page in ([], [ticket_id]), (q, page)
    return page == [ticket_id]


def _ticket():
    return make_ticket(
        user("interno"),
        title="Ventana congelada al iniciar",
        fields={"descripcion": "Texto original sobre el pingüino."},
    )


def test_an_edit_of_fields_and_title_is_found_inside_its_transaction(app):
    ticket = _ticket()
    focal = user("focal")
    assert _finds(focal, "pinguino", ticket.id) and _finds(focal, "congelada", ticket.id)
    with db.atomic():
        services.update_fields(
            focal,
            ticket.id,
            {"descripcion": "Ahora el texto habla del murciélago."},
            ticket.version,
            title="Pantalla dividida al iniciar",
        )
        # not committed yet: the search reads the transaction's own writes
        assert _finds(focal, "murcielago", ticket.id)
        assert _finds(focal, "dividida", ticket.id)
        assert not _finds(focal, "pingüino", ticket.id)
        assert not _finds(focal, "congelada", ticket.id)
    assert _finds(focal, "murciélago", ticket.id) and _finds(focal, "dividida", ticket.id)
    assert not _finds(focal, "pinguino", ticket.id) and not _finds(focal, "congelada", ticket.id)


def test_comments_notes_and_files_are_found_right_after(app):
    ticket = _ticket()
    focal, interno = user("focal"), user("interno")
    services.add_comment(interno, ticket.id, "Sigue pasando con el ornitorrinco.")
    assert _finds(focal, "ornitorrinco", ticket.id) and _finds(interno, "ornitorrinco", ticket.id)
    services.add_comment(focal, ticket.id, "Ver el caso del armadillo.", internal=True)
    assert _finds(focal, "armadillo", ticket.id)
    assert not _finds(interno, "armadillo", ticket.id)  # an internal note
    upload = UploadedFile("Acta de reunión extraordinaria.pdf", "application/pdf", PDF)
    services.add_comment(interno, ticket.id, "", files=[upload])
    assert _finds(focal, "extraordinaria", ticket.id) and _finds(interno, "reunion", ticket.id)
    fresh = type(ticket).get_by_id(ticket.id)
    field_file = UploadedFile("Constancia de envío.pdf", "application/pdf", PDF)
    services.update_fields(interno, ticket.id, {"adjunto": field_file}, fresh.version)
    assert _finds(focal, "constancia", ticket.id) and _finds(interno, "envio", ticket.id)


def test_a_transition_comment_is_found_and_the_state_filter_follows(app):
    ticket = _ticket()
    focal = user("focal")
    assert search.search(focal, "pinguino", {"state": "resuelto"}).ticket_total == 0
    services.transition(focal, ticket.id, "resolver", comment="Se cambió el cocodrilo.")
    assert _finds(focal, "cocodrilo", ticket.id)
    assert search.search(focal, "pinguino", {"state": "resuelto"}).ticket_total == 1
    assert search.search(focal, "pinguino", {"state": "nuevo"}).ticket_total == 0


def test_a_rolled_back_change_leaves_the_index_as_it_was(app):
    ticket = _ticket()
    focal, interno = user("focal"), user("interno")
    with db.atomic() as transaction:
        services.update_fields(
            focal, ticket.id, {"descripcion": "Cambio del murciélago."}, ticket.version
        )
        services.add_comment(interno, ticket.id, "Comentario del ornitorrinco.")
        services.add_comment(focal, ticket.id, "Nota del armadillo.", internal=True)
        assert _finds(focal, "murcielago", ticket.id) and _finds(focal, "armadillo", ticket.id)
        transaction.rollback()
    for word in ("murcielago", "ornitorrinco", "armadillo"):
        assert not _finds(focal, word, ticket.id), word
    assert _finds(focal, "pinguino", ticket.id) and _finds(interno, "congelada", ticket.id)


def test_a_refused_edit_changes_nothing_in_the_index(app):
    ticket = _ticket()
    focal = user("focal")
    services.add_comment(focal, ticket.id, "Primera respuesta.")  # the version moves on
    try:
        services.update_fields(focal, ticket.id, {"descripcion": "Del murciélago."}, 0)
    except StaleVersion:
        pass
    else:
        raise AssertionError("a stale edit went through")
    assert not _finds(focal, "murcielago", ticket.id)
    assert _finds(focal, "pinguino", ticket.id)


# ------------------------------------------------------------ the reindex command


def _flask(env, *args) -> subprocess.CompletedProcess:
    beside = Path(sys.executable).with_name("flask")
    command = [str(beside)] if beside.exists() else [sys.executable, "-m", "flask"]
    result = subprocess.run(
        [*command, "--app", "wsgi", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _environment(url: str, instance: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MESA_", "MAIL_", "DATABASE_", "REDIS_", "FLASK_"))
        and k not in {"SECRET_KEY", "SEED_DEMO", "INSTANCE_PATH", "PUBLIC_URL"}
    }
    env.update(
        DATABASE_URL=url,
        INSTANCE_PATH=str(instance),
        SECRET_KEY="reindex-test-secret",
        PUBLIC_URL="http://mesa.test",
        SEED_DEMO="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_the_reindex_command_finds_what_the_index_missed(tmp_path):
    from ticketing.app import create_app
    from ticketing.models import Article, SearchDoc, Ticket, User

    url = f"sqlite:///{tmp_path / 'mesa.sqlite3'}"
    env = _environment(url, tmp_path / "instance")
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "--demo")
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "reindex-test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "SEED_DEMO": False,
            "PUBLIC_URL": "http://mesa.test",
            "TESTING": True,
        }
    )

    def session():
        context = app.test_request_context()
        context.push()
        db.connect(reuse_if_open=True)
        return context

    def end(context):
        db.close()
        context.pop()

    context = session()
    interno = User.get(User.email == "interno@minej.gob.ec")
    focal = User.get(User.email == "focal@minej.gob.ec")
    renamed = services.open_ticket(
        interno,
        "soporte",
        "Teclado bloqueado en la firma",
        {"categoria": "incidente", "modulo": "otro", "descripcion": "Texto del pingüino."},
    )
    dropped = services.open_ticket(
        interno,
        "soporte",
        "Monitor apagado",
        {"categoria": "consulta", "modulo": "otro", "descripcion": "Texto del ornitorrinco."},
    )
    services.add_comment(focal, dropped.id, "Nota del armadillo.", internal=True)
    with unit_of_work():
        article = Article.create(
            title="Guía del quetzal", body="Texto.", status="published", author=focal.id
        )
        search.index_article(article)
    assert [hit.article.id for hit in search.search_articles(interno, "quetzal")] == [article.id]
    queries = ["pinguino", "ornitorrinco", "armadillo", "teclado", "murcielago"]
    before = {q: _ids(focal, q)[0] for q in queries}
    assert before["armadillo"] == [dropped.id] and before["murcielago"] == []
    # behind the services' back: a title changed, a ticket's documents lost
    Ticket.update(title="Murciélago en la firma").where(Ticket.id == renamed.id).execute()
    SearchDoc.delete().where(SearchDoc.ticket == dropped.id).execute()
    SearchDoc.delete().where(SearchDoc.article == article.id).execute()
    assert _ids(focal, "murcielago")[0] == [] and _ids(focal, "ornitorrinco")[0] == []
    end(context)

    result = _flask(env, "search", "reindex")
    assert "reindexed:" in result.stdout, result.stdout

    context = session()
    try:
        after = {q: _ids(focal, q)[0] for q in queries}
        assert after == {**before, "teclado": [], "murcielago": [renamed.id]}
        assert _ids(interno, "armadillo")[0] == []  # internal notes stay internal
        assert _ids(interno, "ornitorrinco")[0] == [dropped.id]
        assert [hit.article.id for hit in search.search_articles(interno, "quetzal")] == [
            article.id
        ]
    finally:
        end(context)
