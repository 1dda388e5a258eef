"""Institutions and people, each scoped to what the signed-in user may see and manage."""

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, validators

from admin.base import ScopedModelView
from ticketing import services
from ticketing.errors import DomainError
from ticketing.fields import choice_list
from ticketing.models import AGQ, AIQ, FOCAL, INTERNO, ROLE_LABELS, STAGE_LABELS
from ticketing.visibility import visible_institutions, visible_users


class InstitutionView(ScopedModelView):
    roles = (FOCAL, AIQ, AGQ)
    can_create = can_delete = False
    column_list = ["sigla", "name", "ruc", "stage", "stage_since"]
    column_labels = {
        "sigla": _l("Sigla"),
        "name": _l("Nombre"),
        "ruc": _l("RUC"),
        "stage": _l("Etapa"),
        "stage_since": _l("En la etapa desde"),
        "phone": _l("Teléfono"),
        "address": _l("Dirección"),
    }
    column_formatters = {"stage": lambda v, c, m, n: STAGE_LABELS.get(m.stage, m.stage)}
    column_searchable_list = ["name", "sigla", "ruc"]
    column_filters = ["stage"]
    form_columns = ["name", "phone", "address"]

    @property
    def can_edit(self):
        return current_user.is_authenticated and current_user.role == AGQ

    def scope(self):
        return visible_institutions(current_user)


class UserView(ScopedModelView):
    """People: the AGQ manages everyone; the AIQ internal and focal users of its institution."""

    roles = (FOCAL, AIQ, AGQ)
    can_delete = False
    column_list = ["full_name", "email", "role", "institution", "cargo", "active"]
    column_labels = {
        "full_name": _l("Nombres y apellidos"),
        "email": _l("Correo"),
        "role": _l("Rol"),
        "institution": _l("Institución"),
        "cargo": _l("Cargo"),
        "active": _l("Activo"),
        "cedula": _l("Cédula"),
        "phone": _l("Teléfono"),
        "mobile": _l("Celular"),
    }
    column_formatters = {
        "role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role),
        "institution": lambda v, c, m, n: m.institution.sigla,
    }
    column_searchable_list = ["full_name", "email", "cedula"]
    column_filters = ["role", "active"]
    form_columns = ["full_name", "cedula", "email", "role", "cargo", "phone", "mobile", "active"]
    form_overrides = {"role": SelectField}
    form_args = {"full_name": {"validators": [validators.InputRequired()]}}

    @property
    def can_create(self):
        return current_user.is_authenticated and current_user.role in (AIQ, AGQ)

    @property
    def can_edit(self):
        return current_user.is_authenticated and current_user.role in (AIQ, AGQ)

    def scope(self):
        query = visible_users(current_user)
        if current_user.is_authenticated and current_user.role == AIQ:
            # the AIQ manages internal and focal users; it sees itself, not other AIQs' rows
            pass
        return query

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.role.choices = self._role_choices()
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.role.choices = self._role_choices()
        return form

    def _role_choices(self):
        roles = [INTERNO, FOCAL] if current_user.role == AIQ else [INTERNO, FOCAL, AIQ, AGQ]
        return choice_list((r, ROLE_LABELS[r]) for r in roles)

    def create_model(self, form):
        institution_id = current_user.institution_id
        try:
            return services.create_user(
                current_user,
                full_name=form.full_name.data,
                cedula=form.cedula.data,
                email=form.email.data,
                role=form.role.data,
                institution_id=institution_id,
                cargo=form.cargo.data or "",
                phone=form.phone.data or "",
                mobile=form.mobile.data or "",
            )
        except DomainError as exc:
            flash(exc.message, "error")
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [message]
            return False

    def update_model(self, form, model):
        try:
            services.update_user(
                current_user, model.id, {name: form[name].data for name in self.form_columns}
            )
        except DomainError as exc:
            flash(exc.message, "error")
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [message]
            return False
        return True

    def _flash_done(self):
        flash(_("Guardado."), "success")
