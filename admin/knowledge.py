"""Ayuda: the knowledge base's pages (list, search, article, votes, editing) and the
JSON the new-ticket form's suggestions and the comment box's article links read."""

import re
from itertools import groupby

from flask import abort, flash, jsonify, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from admin.base import SEARCH_MAX, RoleView, bounded_id
from ticketing import search, services
from ticketing.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ticketing.markup import render_markdown
from ticketing.models import AGQ, DRAFT, LANGUAGES, PUBLISHED, Article
from ticketing.services.knowledge import BODY_MAX, SUGGEST_MIN, TITLE_MAX
from ticketing.urls import public_url
from ticketing.visibility import editable_articles, visible_articles

LIST_MAX = 500  # articles the index lists (a knowledge base is read by search past that)
RESULTS_MAX = 50
ANSWERS = {"si": True, "no": False}
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def field_names(event) -> str:
    """The fields an "edited" history row changed, as the page names them."""
    labels = {
        "title": _("título"),
        "body": _("contenido"),
        "tags": _("etiquetas"),
        "category": _("categoría"),
        "language": _("idioma"),
        "status": _("estado"),
    }
    changed = (event.data or {}).get("changes", {})
    return ", ".join(label for name, label in labels.items() if name in changed)


def language_label(code: str) -> str:
    return {"es": _("Español"), "en": _("Inglés")}.get(code, code)


def status_label(code: str) -> str:
    return {DRAFT: _("Borrador"), PUBLISHED: _("Publicado")}.get(code, code)


class ArticleForm(FlaskForm):
    """An article's editable values; the service checks them (errors come back per field)."""

    title = StringField(_l("Título"), render_kw={"required": True, "maxlength": TITLE_MAX})
    body = TextAreaField(
        _l("Contenido"),
        description=_l(
            "En Markdown: **negrita**, *cursiva*, listas con «-», títulos con «##» y "
            "enlaces como [texto](https://…). No se admite HTML."
        ),
        render_kw={"rows": 14, "maxlength": BODY_MAX},
    )
    tags = StringField(_l("Etiquetas"), description=_l("Separadas por comas."))
    category = StringField(_l("Categoría"), render_kw={"maxlength": 64})
    language = SelectField(_l("Idioma"), choices=[], validate_choice=False)
    status = SelectField(_l("Estado"), choices=[], validate_choice=False)
    version = HiddenField()
    desde = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [(code, language_label(code)) for code in LANGUAGES]
        self.status.choices = [(DRAFT, _("Borrador")), (PUBLISHED, _("Publicado"))]

    def values(self) -> dict:
        return {
            "title": self.title.data or "",
            "body": self.body.data or "",
            "tags": self.tags.data or "",
            "category": self.category.data or "",
            "language": self.language.data or "",
            "status": self.status.data or "",
        }


def _suggestion_args(token=None, slug=None) -> dict:
    """The new-ticket form an article was opened from (`sugerencia`, `tipo`), if any."""
    token = request.values.get("sugerencia", "") if token is None else token
    slug = request.values.get("tipo", "") if slug is None else slug
    if not services.deflection_token_ok(token):
        return {}
    return {"sugerencia": token, "tipo": slug if SLUG.fullmatch(slug) else ""}


class KnowledgeView(RoleView):
    """Ayuda: the articles a person may read; their editors write them here."""

    def _article(self, article_id) -> Article:
        try:
            return services.visible_article(current_user, bounded_id(article_id))
        except NotFound:
            abort(404)

    def _may_write(self) -> bool:
        return services.may_write_articles(current_user)

    @expose("/")
    def index(self):
        q = request.args.get("q", "")[:SEARCH_MAX]
        language = request.args.get("idioma", "")
        language = language if language in LANGUAGES else ""
        hits, problem, groups = [], None, []
        if q.strip():
            if search.parse(q).searchable:
                hits = search.search_articles(
                    current_user, q, limit=RESULTS_MAX, language=language or None
                )
            else:
                problem = _("Escriba al menos una palabra para buscar.")
        else:
            query = visible_articles(current_user).where(Article.status == PUBLISHED)
            if language:
                query = query.where(Article.language == language)
            rows = query.order_by(Article.category, Article.title, Article.id).limit(LIST_MAX)
            groups = [(key, list(items)) for key, items in groupby(rows, lambda a: a.category)]
        drafts = []
        if self._may_write():
            drafts = list(
                editable_articles(current_user)
                .where(Article.status == DRAFT)
                .order_by(Article.updated_at.desc(), Article.id.desc())
                .limit(LIST_MAX)
            )
        try:
            figures = services.deflection_figures(current_user)
        except PermissionDenied:
            figures = None
        return self.render(
            "mesa/knowledge_index.html",
            q=q,
            language=language,
            languages=[(code, language_label(code)) for code in LANGUAGES],
            hits=hits,
            problem=problem,
            groups=groups,
            drafts=drafts,
            figures=figures,
            may_write=self._may_write(),
        )

    @expose("/<int:article_id>")
    def article(self, article_id):
        article = self._article(article_id)
        editable = editable_articles(current_user).where(Article.id == article.id).exists()
        history = list(services.article_history(current_user, article.id)) if editable else []
        suggestion = _suggestion_args() if article.status == PUBLISHED else {}
        back = None
        if suggestion.get("tipo"):  # the form it came from, if the person may still open it
            openable = services.openable_types(current_user)
            back = next((t for t in openable if t.slug == suggestion["tipo"]), None)
        return self.render(
            "mesa/knowledge_article.html",
            article=article,
            body=render_markdown(article.body),
            editable=editable,
            history=history,
            my_vote=services.my_vote(current_user, article),
            suggestion=suggestion,
            back_type=back,
            language_label=language_label,
            status_label=status_label,
            field_names=field_names,
        )

    @expose("/<int:article_id>/voto", methods=["POST"])
    def vote(self, article_id):
        article = self._article(article_id)
        answer = request.form.get("util", "")
        back = url_for(".article", article_id=article.id, **_suggestion_args())
        if answer not in ANSWERS:
            flash(_("Responda sí o no."), "error")
            return redirect(back)
        try:
            services.vote(current_user, article.id, ANSWERS[answer])
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Gracias por su respuesta."), "success")
        return redirect(back)

    @expose("/<int:article_id>/leida", methods=["POST"])
    def read(self, article_id):
        """A suggestion of the new-ticket form was opened (sent by deflection.js)."""
        article = self._article(article_id)
        try:
            services.read_suggestion(
                current_user,
                request.form.get("token", ""),
                article.id,
                request.form.get("tipo", ""),
            )
        except DomainError as exc:
            return jsonify({"error": exc.code, "message": exc.message}), exc.status
        return jsonify({"ok": True})

    @expose("/sugerencias")
    def suggestions(self):
        """Articles for what is being typed: the form's suggestions, the comment box's links."""
        q = request.args.get("q", "")[:SEARCH_MAX]
        extra = _suggestion_args(request.args.get("token", ""), request.args.get("tipo", ""))
        hits = []
        if len(q.strip()) >= SUGGEST_MIN:
            hits = services.suggestions(current_user, q, extra.get("tipo") or None)
        data = []
        for hit in hits:
            path = url_for(".article", article_id=hit.article.id)
            data.append(
                {
                    "id": hit.article.id,
                    "title": hit.article.title,
                    "url": url_for(".article", article_id=hit.article.id, **extra),
                    "link": public_url(path),
                    "snippet": str(hit.snippet),
                }
            )
        response = make_response(jsonify(data))
        response.headers["Cache-Control"] = "no-store"
        return response

    def _form_page(self, form, *, article=None, source=None, status=200):
        response = make_response(
            self.render(
                "mesa/knowledge_form.html",
                form=form,
                article=article,
                source=source,
                institution=None if current_user.role == AGQ else current_user.institution,
            )
        )
        response.status_code = status
        return response

    @expose("/nuevo", methods=["GET", "POST"])
    def create(self):
        if not self._may_write():
            abort(404)
        form = ArticleForm()
        source = None
        if request.method == "GET":
            form.language.data, form.status.data = "es", DRAFT
            desde = request.args.get("desde")
            if desde:
                try:
                    draft = services.draft_from_ticket(current_user, bounded_id(desde))
                except NotFound:
                    abort(404)
                except DomainError as exc:
                    flash(exc.message, "error")
                else:
                    form.title.data, form.body.data = draft["title"], draft["body"]
                    form.desde.data = str(draft["source_ticket_id"])
                    source = draft["source_ticket_id"]
            return self._form_page(form, source=source)
        if not form.validate_on_submit():
            flash(_("El formulario caducó. Recargue la página."), "error")
            return self._form_page(form, status=400)
        source = bounded_id(form.desde.data) if form.desde.data else None
        try:
            article = services.create_article(
                current_user, **form.values(), source_ticket_id=form.desde.data or None
            )
        except ValidationFailed as exc:
            _attach(form, exc)
            flash(exc.message, "error")
            return self._form_page(form, source=source, status=422)
        except DomainError as exc:
            flash(exc.message, "error")
            return self._form_page(form, source=source, status=exc.status)
        flash(_("Artículo «%(t)s» guardado.", t=article.title), "success")
        return redirect(url_for(".article", article_id=article.id))

    @expose("/<int:article_id>/editar", methods=["GET", "POST"])
    def edit(self, article_id):
        try:
            article = services.editable_article(current_user, bounded_id(article_id))
        except DomainError:
            abort(404)
        if request.method == "GET":
            form = ArticleForm(
                data={
                    "title": article.title,
                    "body": article.body,
                    "tags": ", ".join(article.tags or []),
                    "category": article.category,
                    "language": article.language,
                    "status": article.status,
                    "version": str(article.version),
                }
            )
            return self._form_page(form, article=article)
        form = ArticleForm()
        if not form.validate_on_submit():
            flash(_("El formulario caducó. Recargue la página."), "error")
            return self._form_page(form, article=article, status=400)
        try:
            services.update_article(current_user, article.id, form.values(), form.version.data)
        except ValidationFailed as exc:
            _attach(form, exc)
            flash(exc.message, "error")
            return self._form_page(form, article=article, status=422)
        except DomainError as exc:
            flash(exc.message, "error")
            return self._form_page(form, article=article, status=exc.status)
        flash(_("Cambios guardados."), "success")
        return redirect(url_for(".article", article_id=article.id))


def _attach(form, exc: ValidationFailed):
    """A refusal's per-field messages beside the form's fields."""
    for name, message in exc.fields.items():
        if name in form and name not in ("version", "desde"):
            form[name].errors = list(form[name].errors or []) + [message]


def register(admin) -> None:
    """Mount Ayuda for every signed-in person."""
    admin.add_view(KnowledgeView(name=_l("Ayuda"), endpoint="knowledge", url="/ayuda"))
