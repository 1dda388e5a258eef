"""Access control shared by every admin view: roles, and queries scoped to the user."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm


class RoleMixin:
    """A view open to signed-in users with one of `roles` (all roles when empty)."""

    roles: tuple[str, ...] = ()

    def is_accessible(self):
        if not current_user.is_authenticated or not current_user.active:
            return False
        return not self.roles or current_user.role in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(404)


class RoleView(RoleMixin, BaseView):
    pass


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax lookup that starts from a visibility query, never from `Model.select()`."""

    def __init__(self, name, model, scope, **options):
        super().__init__(name, model, **options)
        self.scope = scope

    def get_one(self, pk):
        return self.scope().where(self.model._meta.primary_key == pk).first()

    def get_list(self, term, offset=0, limit=10):
        query = self.scope()
        if term:
            clause = None
            for field in self._cached_fields:
                part = field ** f"%{term}%"
                clause = part if clause is None else clause | part
            query = query.where(clause)
        return list(query.offset(offset).limit(limit))


class ScopedModelView(RoleMixin, ModelView):
    """A model view whose every read starts from `scope()`.

    Flask-Admin's peewee backend fetches single rows (details, edit, delete, actions,
    ajax) by primary key without `get_query`; each of those paths is overridden here.
    """

    # Flask-WTF's form: its hidden csrf_token is the one CSRFProtect checks on every POST
    # (Flask-Admin's SecureForm would add a second, different token under the same name)
    form_base_class = FlaskForm
    can_view_details = True
    can_export = False
    action_disallowed_list = ["delete"]
    page_size = 25

    def scope(self):
        raise NotImplementedError

    def get_query(self):
        return self.scope()

    def get_count_query(self):
        return self.scope()

    def get_one(self, id):
        pk = self.model._meta.primary_key
        try:
            return self.scope().where(pk == pk.db_value(id)).first()
        except (TypeError, ValueError):
            return None

    def scoped_ids(self, ids):
        """The subset of `ids` the user may act on (bulk actions)."""
        pk = self.model._meta.primary_key
        return [getattr(m, pk.name) for m in self.scope().where(pk.in_(list(ids)))]

    def action_delete(self, ids):
        return super().action_delete(self.scoped_ids(ids))

    def _create_ajax_loader(self, name, options):
        field = getattr(self.model, name)
        remote = field.rel_model
        pk = remote._meta.primary_key
        scope = options.pop("scope", None) or (lambda: remote.select().where(pk.is_null()))
        return ScopedAjaxLoader(name, remote, scope, **options)


@dataclass(frozen=True)
class ListFilter:
    """A labelled select above a list: `arg` in the query string narrows `scope()`.

    `options()` gives the (value, label) pairs the user may pick; a value that is not
    among them is ignored, so a filter never widens what `scope()` shows.
    """

    arg: str
    label: str
    options: Callable[[], list[tuple[str, str]]]
    apply: Callable[[Any, str], Any]


class FilterFormMixin:
    """Plain GET filters rendered as a labelled form (keyboard and screen-reader friendly)."""

    list_template = "mesa/list.html"
    search_label = _l("Buscar")

    def list_filters(self) -> list[ListFilter]:
        return []

    def filter_values(self) -> dict[str, str]:
        """The chosen value of each filter, once checked against its options."""
        chosen = {}
        for flt in self.list_filters():
            value = request.args.get(flt.arg, "")
            if value and value in {str(v) for v, _label in flt.options()}:
                chosen[flt.arg] = value
        return chosen

    def apply_filters(self, query):
        filters = {f.arg: f for f in self.list_filters()}
        for arg, value in self.filter_values().items():
            query = filters[arg].apply(query, value)
        return query

    def search_placeholder(self):
        return str(self.search_label)

    def render(self, template, **kwargs):
        if template == self.list_template:
            chosen = self.filter_values()
            kwargs.setdefault(
                "list_filters",
                [(f, [(str(v), label) for v, label in f.options()]) for f in self.list_filters()],
            )
            kwargs.setdefault("filter_values", chosen)
        return super().render(template, **kwargs)

    create_label = _l("Crear")

    def row_action_allowed(self, action, row) -> bool:
        """Whether a row's action (view, edit) is offered for that row."""
        return True
