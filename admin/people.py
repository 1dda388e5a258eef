"""Institutions and people, each scoped to what the signed-in user may see and manage."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField

from admin.base import FilterFormMixin, ListFilter, ScopedModelView, bounded_id
from ticketing import services
from ticketing.errors import DomainError
from ticketing.fields import choice_list
from ticketing.models import AGQ, AIQ, FOCAL, INTERNO, ROLE_LABELS, STAGE_LABELS, Institution, User
from ticketing.visibility import visible_institutions, visible_users


class InstitutionView(FilterFormMixin, ScopedModelView):
    """Institutions: the AGQ sees every one, the others their own."""

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
    column_details_list = ["sigla", "name", "ruc", "phone", "address", "stage", "stage_since"]
    column_searchable_list = ["name", "sigla", "ruc"]
    column_default_sort = "sigla"
    search_label = _l("Nombre, sigla o RUC")
    form_columns = ["name", "phone", "address"]

    @property
    def can_edit(self):
        return current_user.is_authenticated and current_user.role == AGQ

    def scope(self):
        return visible_institutions(current_user)

    def get_query(self):
        return self.apply_filters(self.scope())

    def update_model(self, form, model):
        """The edit goes through the service (the AGQ only; RUC and sigla never change)."""
        changes = {name: form[name].data for name in self.form_columns}
        try:
            services.update_institution(current_user, model.id, changes)
        except DomainError as exc:
            _show_errors(form, exc)
            return False
        return True

    def list_filters(self):
        return [
            ListFilter(
                "etapa",
                _l("Etapa"),
                lambda: list(STAGE_LABELS.items()),
                lambda q, v: q.where(Institution.stage == v),
            )
        ]


class PersonForm(FlaskForm):
    """A person, as the AGQ or an AIQ types it; the service validates every value."""

    full_name = StringField(
        _l("Nombres y apellidos"),
        render_kw={"autocomplete": "name", "maxlength": 255, "required": True},
    )
    cedula = StringField(
        _l("Número de cédula"),
        description=_l("Los 10 dígitos; se comprueba el dígito verificador."),
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "off",
            "maxlength": 10,
            "required": True,
        },
    )
    email = EmailField(
        _l("Correo electrónico"),
        render_kw={"autocomplete": "email", "maxlength": 254, "required": True},
    )
    role = SelectField(_l("Rol"), choices=[], validate_choice=False, render_kw={"required": True})
    institution = SelectField(
        _l("Institución"), choices=[], validate_choice=False, render_kw={"required": True}
    )
    cargo = StringField(_l("Cargo"), render_kw={"maxlength": 255})
    phone = TelField(
        _l("Teléfono y extensión"),
        description=_l("Por ejemplo: 02 123 4567 ext. 120"),
        render_kw={"autocomplete": "tel"},
    )
    mobile = TelField(_l("Celular"), description=_l("Por ejemplo: 099 123 4567"))
    active = BooleanField(_l("Activo (puede iniciar sesión)"))


def _manages(actor, person) -> bool:
    """Whether `actor` may edit `person` (the service decides; this only hides the button)."""
    if actor.role == AGQ:
        return True
    return (
        actor.role == AIQ
        and person.institution_id == actor.institution_id
        and person.role in (INTERNO, FOCAL)
    )


def _role_options():
    return [(r, ROLE_LABELS[r]) for r in (INTERNO, FOCAL, AIQ, AGQ)]


class UserView(FilterFormMixin, ScopedModelView):
    """People: the AGQ manages everyone; the AIQ internal and focal users of its institution."""

    roles = (FOCAL, AIQ, AGQ)
    can_delete = False
    column_list = ["full_name", "email", "role", "institution", "cargo", "active"]
    column_details_list = [
        "full_name",
        "cedula",
        "email",
        "role",
        "institution",
        "cargo",
        "phone",
        "mobile",
        "active",
        "created_at",
    ]
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
        "created_at": _l("Registrado el"),
    }
    column_formatters = {
        "role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role),
        "institution": lambda v, c, m, n: m.institution.sigla,
    }
    column_formatters_detail = {
        "role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role),
        "institution": lambda v, c, m, n: str(m.institution),
    }
    column_searchable_list = ["full_name", "email", "cedula"]
    column_default_sort = "full_name"
    search_label = _l("Nombre, correo o cédula")
    create_label = _l("Agregar persona")
    create_template = "mesa/person_form.html"
    edit_template = "mesa/person_form.html"

    @property
    def can_create(self):
        return current_user.is_authenticated and current_user.role in (AIQ, AGQ)

    @property
    def can_edit(self):
        return current_user.is_authenticated and current_user.role in (AIQ, AGQ)

    def scope(self):
        return visible_users(current_user)

    def get_query(self):
        return self.apply_filters(self.scope())

    def list_filters(self):
        filters = [
            ListFilter("rol", _l("Rol"), _role_options, lambda q, v: q.where(User.role == v)),
            ListFilter(
                "activo",
                _l("Activo"),
                lambda: [("1", _("Sí")), ("0", _("No"))],
                lambda q, v: q.where(User.active == (v == "1")),
            ),
        ]
        if current_user.role == AGQ:
            filters.append(
                ListFilter(
                    "institucion",
                    _l("Institución"),
                    lambda: [(str(i.id), i.sigla) for i in self._institutions()],
                    lambda q, v: q.where(User.institution == int(v)),
                )
            )
        return filters

    def _institutions(self):
        return visible_institutions(current_user).order_by(Institution.sigla)

    def row_action_allowed(self, action, row) -> bool:
        if getattr(action, "template_name", "") == "row_actions.edit_row":
            return _manages(current_user, row)
        return True

    def scaffold_form(self):
        return PersonForm

    def _role_choices(self):
        roles = [INTERNO, FOCAL] if current_user.role == AIQ else [INTERNO, FOCAL, AIQ, AGQ]
        return choice_list((r, ROLE_LABELS[r]) for r in roles)

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.role.choices = self._role_choices()
        del form.active  # a new person starts active, with an invitation to set a password
        if current_user.role == AGQ:
            form.institution.choices = choice_list(
                [("", "—")] + [(i.id, str(i)) for i in self._institutions()]
            )
        else:
            del form.institution  # the AIQ adds people to its own institution only
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.role.choices = self._role_choices()
        del form.institution
        return form

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        person = self.get_one(request.args.get("id"))
        if person is not None and not _manages(current_user, person):
            flash(_("El AIQ solo gestiona usuarios internos y focales de su institución."), "error")
            return redirect(url_for(".index_view"))
        return super().edit_view()

    def render(self, template, **kwargs):
        if template == self.create_template:
            kwargs.setdefault("fixed_institution", current_user.institution)
        return super().render(template, **kwargs)

    def create_model(self, form):
        if current_user.role == AGQ:
            institution_id = bounded_id(form.institution.data)
            if institution_id is None:
                form.institution.errors = [_("Elija la institución.")]
                return False
        else:
            institution_id = current_user.institution_id
        try:
            person = services.create_user(
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
            _show_errors(form, exc)
            return False
        flash(
            _(
                "Se envió a %(email)s un enlace para fijar su contraseña.",
                email=person.email,
            ),
            "info",
        )
        return person

    def update_model(self, form, model):
        changes = {
            name: form[name].data
            for name in (
                "full_name",
                "cedula",
                "email",
                "role",
                "cargo",
                "phone",
                "mobile",
                "active",
            )
        }
        try:
            services.update_user(current_user, model.id, changes)
        except DomainError as exc:
            _show_errors(form, exc)
            return False
        return True


def _show_errors(form, exc: DomainError) -> None:
    """The service's refusal: its message on top, each field's message beside the field."""
    flash(exc.message, "error")
    for name, message in exc.fields.items():
        if name in form:
            form[name].errors = [message]
