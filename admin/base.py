"""Access control shared by every admin view: roles, and queries scoped to the user."""

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_admin.form import SecureForm
from flask_login import current_user


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

    form_base_class = SecureForm
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
