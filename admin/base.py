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

ID_MAX = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL
PAGE_MAX = 2**31 - 1  # the largest row offset a list asks for (a page past it is empty)
SEARCH_MAX = 500  # characters of a search kept: SQLite refuses LIKE patterns over 50,000 bytes


def bounded_id(value) -> int | None:
    """A row id from a form or query (ASCII digits, within a 32-bit column), else None."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    number = int(text)
    return number if 1 <= number <= ID_MAX else None


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

    def _get_list_extra_args(self):
        """The list's query arguments, with any page and sort the list cannot serve dropped.

        A negative page is the first; a page past the last is empty (the offset stays
        within what the databases accept); a sort index naming a column that is listed
        but not sortable, or none at all, falls back to the default order; a search is cut
        to its first SEARCH_MAX characters (more than any name, title or subject holds).
        """
        args = super()._get_list_extra_args()
        page = min(max(args.page or 0, 0), PAGE_MAX // max(self.page_size or 1, 1))
        sort = args.sort
        column = self._get_column_by_idx(sort) if sort is not None else None
        if column is None or column[0] not in (self._sortable_columns or {}):
            sort = None
        desc = 1 if args.sort_desc and sort is not None else None
        search = args.search[:SEARCH_MAX] if args.search else args.search
        # clone() would turn an empty filter list into None, which get_list cannot iterate
        return args.clone(page=page, sort=sort, sort_desc=desc, search=search, filters=args.filters)

    def get_query(self):
        return self.scope()

    def get_count_query(self):
        return self.scope()

    def get_one(self, id):
        pk = self.model._meta.primary_key
        row_id = bounded_id(id)
        if row_id is None:
            return None
        return self.scope().where(pk == row_id).first()

    def scoped_ids(self, ids):
        """The subset of `ids` the user may act on (bulk actions); malformed ids are dropped."""
        pk = self.model._meta.primary_key
        wanted = [i for i in (bounded_id(v) for v in ids) if i is not None]
        return [getattr(m, pk.name) for m in self.scope().where(pk.in_(wanted))]

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
    # the same narrowing of a query of maintained figures (`TicketCount`), where there is one
    counts: Callable[[Any, str], Any] | None = None


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

    def apply_filters(self, query, *, counts: bool = False):
        """Narrow `query` by the chosen filters (`counts`: a query of maintained figures)."""
        filters = {f.arg: f for f in self.list_filters()}
        for arg, value in self.filter_values().items():
            query = (filters[arg].counts if counts else filters[arg].apply)(query, value)
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
