"""Ayuda over HTTP: the list, search, an article, votes, editing, suggestions and the
ticket screens' links to the knowledge base."""

import json
import re
import secrets

from tests.conftest import make_ticket, text_of, user
from tests.knowledge.helpers import make_article, resolved_ticket
from ticketing import services
from ticketing.models import Article, ArticleEvent, ArticleVote, Deflection, Ticket


def _form(**overrides):
    data = {
        "title": "Cómo renovar el certificado de firma",
        "body": "1. Ingrese al **registro**.\n2. Pida la renovación.",
        "tags": "firma, certificado",
        "category": "Firma electrónica",
        "language": "es",
        "status": "published",
    }
    data.update(overrides)
    return data


# ----------------------------------------------------------------- reading


def test_everyone_reads_published_articles_grouped_by_category(client, auth):
    mine = make_article("aiq", title="Artículo de INSTA", category="Propios")
    theirs = make_article("aiq_b", title="Artículo de INSTB", category="Propios")
    draft = make_article("aiq", title="Borrador de INSTA", status="draft")
    auth.login("interno")
    page = text_of(client.get("/ayuda/"))
    assert "Cómo solicitar el paso al ambiente de producción" in page  # seeded, SGE's
    assert '<h2 id="h-cat-' in page and "Ambientes" in page and "Propios" in page
    assert mine.title in page
    assert theirs.title not in page and draft.title not in page
    assert client.get(f"/ayuda/{theirs.id}").status_code == 404
    assert client.get(f"/ayuda/{draft.id}").status_code == 404
    # the AIQ sees the draft among the ones it may edit
    auth.login("focal")
    assert draft.title in text_of(client.get("/ayuda/"))


def test_language_filter_and_search(client, auth):
    english = make_article("agq", title="Signing a document", body="Use the token.", language="en")
    auth.login("interno")
    only_en = text_of(client.get("/ayuda/?idioma=en"))
    assert english.title in only_en and "paso al ambiente de producción" not in only_en
    found = client.get("/ayuda/", query_string={"q": "paso a producción"})
    body = text_of(found)
    assert "Cómo solicitar el paso al ambiente de producción" in body
    assert "<mark>" in body  # the matching words are highlighted
    assert english.title not in body
    none = text_of(client.get("/ayuda/", query_string={"q": "de la"}))
    assert "Escriba al menos una palabra para buscar." in none


def test_an_article_page_renders_markdown_safely(client, auth):
    article = make_article(
        "agq",
        body="Texto **importante**.\n\n<script>alert('x')</script>\n\n[malo](javascript:alert(1))",
        tags=["firma", "token"],
    )
    auth.login("interno")
    response = client.get(f"/ayuda/{article.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>importante</strong>" in body
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert 'href="javascript' not in body
    assert "firma" in text_of(response) and "Firma electrónica" in text_of(response)
    assert "¿Le sirvió este artículo?" in text_of(response)
    # a reader is no editor: no edit link, no history
    assert 'data-testid="edit-article"' not in body and 'data-testid="article-history"' not in body


def test_votes_are_counted_once_and_can_change(client, auth):
    article = make_article("agq")
    auth.login("interno")
    url = f"/ayuda/{article.id}/voto"
    assert client.post(url, data={"util": "si"}).status_code == 302
    client.post(url, data={"util": "si"})
    page = client.get(f"/ayuda/{article.id}").get_data(as_text=True)
    assert re.search(r'data-testid="helpful">1<', page)
    client.post(url, data={"util": "no"})
    stored = Article.get_by_id(article.id)
    assert (stored.helpful, stored.not_helpful) == (0, 1)
    # a malformed answer is refused, with a message, and counts nothing
    response = client.post(url, data={"util": "quizá"}, follow_redirects=True)
    assert "Responda sí o no." in text_of(response)
    assert ArticleVote.select().count() == 1


# ----------------------------------------------------------------- writing


def test_an_aiq_writes_an_article_for_its_institution(client, auth):
    auth.login("aiq")
    form = client.get("/ayuda/nuevo")
    assert form.status_code == 200 and "Markdown" in text_of(form)
    assert "El artículo es de INSTA" in text_of(form)
    response = client.post("/ayuda/nuevo", data=_form())
    assert response.status_code == 302
    article = Article.get(Article.title == "Cómo renovar el certificado de firma")
    assert article.institution_id == user("aiq").institution_id
    assert article.tags == ["firma", "certificado"]
    page = client.get(response.location)
    assert "<strong>registro</strong>" in page.get_data(as_text=True)
    assert 'data-testid="article-history"' in page.get_data(as_text=True)
    assert "Creó el artículo" in text_of(page)


def test_form_errors_are_shown_beside_their_fields_and_nothing_is_written(client, auth):
    auth.login("agq")
    before = Article.select().count()
    response = client.post("/ayuda/nuevo", data=_form(title="", language="fr", tags="x" * 41))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for name in ("title", "language", "tags"):
        assert re.search(rf'class="invalid-feedback d-block" data-field="{name}"', body), name
    assert "Este campo es obligatorio." in body
    assert Article.select().count() == before


def test_editing_keeps_history_and_refuses_a_stale_form(client, auth):
    article = make_article("focal")
    auth.login("aiq")
    edit = client.get(f"/ayuda/{article.id}/editar")
    assert edit.status_code == 200 and 'name="version" type="hidden" value="1"' in (
        edit.get_data(as_text=True)
    )
    response = client.post(
        f"/ayuda/{article.id}/editar", data=_form(title="Título corregido", version="1")
    )
    assert response.status_code == 302
    # another tab still holds version 1
    stale = client.post(f"/ayuda/{article.id}/editar", data=_form(title="Otro", version="1"))
    assert stale.status_code == 409
    assert "Otra persona modificó este artículo" in text_of(stale)
    assert 'value="Otro"' in stale.get_data(as_text=True)  # what was typed is not lost
    assert Article.get_by_id(article.id).title == "Título corregido"
    page = text_of(client.get(f"/ayuda/{article.id}"))
    assert "Editó: título" in page


def test_who_may_open_the_editor(client, auth):
    sge_article = Article.select().where(Article.institution.is_null()).first()
    b_article = make_article("aiq_b")
    auth.login("interno")
    assert client.get("/ayuda/nuevo").status_code == 404
    assert client.post("/ayuda/nuevo", data=_form()).status_code == 404
    assert client.get(f"/ayuda/{sge_article.id}/editar").status_code == 404
    auth.login("aiq")
    assert client.get(f"/ayuda/{sge_article.id}/editar").status_code == 404  # SGE's: the AGQ's
    assert client.get(f"/ayuda/{b_article.id}/editar").status_code == 404
    auth.login("agq")
    assert client.get(f"/ayuda/{sge_article.id}/editar").status_code == 200
    assert client.get(f"/ayuda/{b_article.id}/editar").status_code == 404
    assert Article.get_by_id(b_article.id).version == 1


def test_a_resolved_tickets_answer_becomes_a_draft(client, auth):
    ticket = resolved_ticket(answer="Borre la caché del navegador y vuelva a ingresar.")
    auth.login("focal")
    page = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    assert f'href="/ayuda/nuevo?desde={ticket.id}"' in page
    form = client.get(f"/ayuda/nuevo?desde={ticket.id}")
    body = form.get_data(as_text=True)
    assert "Borre la caché del navegador" in body and ticket.title in body
    assert f'name="desde" type="hidden" value="{ticket.id}"' in body
    response = client.post(
        "/ayuda/nuevo",
        data=_form(title=ticket.title, body="Borre la caché.", status="draft", desde=ticket.id),
    )
    assert response.status_code == 302
    article = Article.get(Article.title == ticket.title)
    assert (article.source_ticket_id, article.status) == (ticket.id, "draft")
    # an open ticket offers no such link, and its draft is refused
    open_one = make_ticket()
    page = client.get(f"/ticket/{open_one.id}/").get_data(as_text=True)
    assert "Crear artículo con esta respuesta" not in page
    refused = client.get(f"/ayuda/nuevo?desde={open_one.id}", follow_redirects=True)
    assert "Solo se crea un artículo con la respuesta de un ticket resuelto." in text_of(refused)
    # the requester sees the resolved ticket but writes no article
    auth.login("interno")
    assert "Crear artículo con esta respuesta" not in text_of(client.get(f"/ticket/{ticket.id}/"))
    # another institution's ticket is not there at all
    auth.login("focal_b")
    assert client.get(f"/ayuda/nuevo?desde={ticket.id}").status_code == 404


# ----------------------------------------------------------------- suggestions and deflection


def test_the_new_ticket_form_carries_a_token_and_the_suggestions_region(client, auth):
    auth.login("interno")
    page = client.get("/nuevo/soporte/").get_data(as_text=True)
    token = re.search(r'name="deflection_token" value="([^"]+)"', page).group(1)
    assert services.deflection_token_ok(token)
    assert 'aria-live="polite"' in page and 'data-url="/ayuda/sugerencias"' in page
    assert "/ui-static/deflection.js" in page and "<script>" not in page
    again = client.get("/nuevo/soporte/").get_data(as_text=True)
    assert token not in again  # each filling of the form has its own


def test_suggestions_are_json_scoped_to_what_the_person_may_read(client, auth):
    make_article("aiq_b", title="Producción en INSTB", body="Paso a producción de B.")
    make_article("aiq", title="Producción borrador", body="Paso a producción.", status="draft")
    token = secrets.token_urlsafe(16)
    auth.login("focal")
    response = client.get(
        "/ayuda/sugerencias",
        query_string={"q": "paso a producción", "tipo": "soporte", "token": token},
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    items = json.loads(response.get_data(as_text=True))
    titles = [i["title"] for i in items]
    assert "Cómo solicitar el paso al ambiente de producción" in titles
    assert "Producción en INSTB" not in titles and "Producción borrador" not in titles
    first = items[0]
    assert set(first) == {"id", "title", "url", "link", "snippet"}
    assert first["url"] == f"/ayuda/{first['id']}?sugerencia={token}&tipo=soporte"
    assert first["link"] == f"http://mesa.test/ayuda/{first['id']}"
    assert json.loads(client.get("/ayuda/sugerencias?q=pa").get_data(as_text=True)) == []
    assert json.loads(client.get("/ayuda/sugerencias").get_data(as_text=True)) == []


def test_reading_a_suggestion_then_leaving_counts_a_ticket_not_opened(client, auth):
    article = make_article("agq", title="Firmar con token")
    auth.login("interno")
    page = client.get("/nuevo/soporte/").get_data(as_text=True)
    token = re.search(r'name="deflection_token" value="([^"]+)"', page).group(1)
    opened = client.get(f"/ayuda/{article.id}?sugerencia={token}&tipo=soporte")
    body = opened.get_data(as_text=True)
    assert f'data-deflection-read="/ayuda/{article.id}/leida"' in body
    assert 'href="/nuevo/soporte/"' in body  # back to the form
    assert Deflection.select().count() == 0  # a GET records nothing: deflection.js posts
    read = client.post(f"/ayuda/{article.id}/leida", data={"token": token, "tipo": "soporte"})
    assert read.status_code == 200
    client.post(f"/ayuda/{article.id}/leida", data={"token": token, "tipo": "soporte"})
    assert Deflection.select().count() == 1
    refused = client.post(f"/ayuda/{article.id}/leida", data={"token": "corto", "tipo": "soporte"})
    assert refused.status_code == 422
    auth.login("aiq")
    figures = text_of(client.get("/ayuda/"))
    assert "Sugerencias leídas: 1 · Tickets no abiertos después: 1" in figures
    auth.login("focal")
    assert "Sugerencias leídas" not in text_of(client.get("/ayuda/"))


def test_a_ticket_opened_after_reading_is_not_counted_as_spared(client, auth):
    article = make_article("agq")
    auth.login("interno")
    page = client.get("/nuevo/soporte/").get_data(as_text=True)
    token = re.search(r'name="deflection_token" value="([^"]+)"', page).group(1)
    client.post(f"/ayuda/{article.id}/leida", data={"token": token, "tipo": "soporte"})
    # sent back with an error first: the form keeps its token
    invalid = client.post("/nuevo/soporte/", data={"title": "", "deflection_token": token})
    assert f'value="{token}"' in invalid.get_data(as_text=True)
    response = client.post(
        "/nuevo/soporte/",
        data={
            "title": "Sigo sin poder firmar",
            "f_categoria": "incidente",
            "f_modulo": "bandeja_entrada",
            "f_descripcion": "El token no responde.",
            "deflection_token": token,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.get(Ticket.title == "Sigo sin poder firmar")
    assert Deflection.get(Deflection.token == token).ticket_id == ticket.id
    assert services.deflection_figures(user("agq")) == {"read": 1, "not_opened": 0}


def test_the_ticket_page_offers_the_article_link_picker_to_staff(client, auth):
    ticket = make_ticket()
    auth.login("focal")
    page = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    assert "Insertar enlace a un artículo" in page and "/ui-static/article_link.js" in page
    assert 'data-target="comment-body"' in page
    auth.login("interno")
    assert "Insertar enlace a un artículo" not in client.get(f"/ticket/{ticket.id}/").get_data(
        as_text=True
    )


def test_history_rows_of_the_seed_and_of_edits_name_who(app):
    seeded = Article.select().where(Article.institution.is_null()).first()
    event = ArticleEvent.get(ArticleEvent.article == seeded.id)
    assert (event.kind, event.actor_id, event.data) == ("created", None, {"source": "seed"})


def test_the_json_endpoints_take_hostile_input_without_failing_or_writing(client, auth):
    """What deflection.js and article_link.js send, no page renders as a form: probed here."""
    article = make_article("agq")
    auth.login("interno")
    for value in ("x" * 100_000, "[" * 1500 + "]" * 1500, '"-"', "-firma", str(2**64), "a\r\nb"):
        response = client.get(
            "/ayuda/sugerencias", query_string={"q": value, "tipo": value, "token": value}
        )
        assert response.status_code == 200 and isinstance(json.loads(response.data), list)
        read = client.post(f"/ayuda/{article.id}/leida", data={"token": value, "tipo": value})
        assert read.status_code in (404, 422), value
        voted = client.post(f"/ayuda/{article.id}/voto", data={"util": value})
        assert voted.status_code == 302
    assert client.get("/ayuda/sugerencias?q=a%00b").status_code == 400  # the input guard
    assert Deflection.select().count() == 0 and ArticleVote.select().count() == 0
