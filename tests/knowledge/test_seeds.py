"""The seed's articles: SGE's, published, in Spanish, from the rollout's source, once."""

from seeds import SEEDS_DIR
from tests.conftest import user
from ticketing import search, services
from ticketing.models import PUBLISHED, Article
from ticketing.process_io import parse
from ticketing.seeding import load_articles, seed

TOPICS = {
    "Cursos obligatorios del AIQ (Bandeja de entrada, Bandeja de salida y Administración)": (
        "12 horas",
        "Bandeja de entrada",
        "Administración",
    ),
    "Ambiente de capacitación y ambiente de producción": ("15 días", "usuarios focales"),
    "Cómo solicitar el paso al ambiente de producción": (
        "soporte@administracionpublica.gob.ec",
        "plantilla de seguimiento",
    ),
    "¿A quién escribir cuando tengo un problema con Quipux?": (
        "mesa de ayuda",
        "soporte@administracionpublica.gob.ec",
    ),
    "Cómo solicitar el uso de Quipux para una institución": (
        "Subsecretario de Gobierno Electrónico",
        "RUC",
        "cédula",
    ),
}


def test_the_seed_loads_sges_published_spanish_articles(app):
    articles = list(Article.select().where(Article.institution.is_null()))
    assert 5 <= len(articles) <= 6
    assert all(a.status == PUBLISHED and a.language == "es" for a in articles)
    assert all(a.published_at is not None and a.category and a.tags for a in articles)
    by_title = {a.title: a for a in articles}
    for title, phrases in TOPICS.items():
        for phrase in phrases:
            assert phrase in by_title[title].body, (title, phrase)
    file_titles = [a["title"] for a in parse((SEEDS_DIR / "articles.yaml").read_text())["articles"]]
    assert sorted(file_titles) == sorted(by_title)


def test_seeding_again_adds_nothing_and_keeps_an_edited_article(app):
    article = Article.get(Article.title == "Cómo solicitar el paso al ambiente de producción")
    services.update_article(user("agq"), article.id, {"body": "Texto del AGQ."}, article.version)
    before = Article.select().count()
    assert seed()["articles"] == 0
    assert load_articles() == 0
    assert Article.select().count() == before
    assert Article.get_by_id(article.id).body == "Texto del AGQ."


def test_a_deleted_seed_article_comes_back_and_is_searchable(app):
    Article.delete().where(Article.title == "Tareas del AIQ en el ambiente de producción").execute()
    assert load_articles() == 1
    found = search.search_articles(user("interno"), "tareas producción")
    assert "Tareas del AIQ en el ambiente de producción" in [h.article.title for h in found]
