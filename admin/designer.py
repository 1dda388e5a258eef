"""The ticket-type designer (AGQ only): types with their fields, checklist, states and
transitions edited inline, a preview of the generated form, and the process as YAML.

Rows repeat server-side: "Agregar …" posts the form back and it comes back with every
row kept and one empty row per section, so it works without scripts, from the keyboard,
with Flask-WTF's CSRF token on every post. Saving goes through `ticketing.design`.
"""

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)

from admin.base import RoleView
from ticketing import design, services
from ticketing.definitions import GUARD_KINDS, current_version
from ticketing.errors import DomainError, NotFound, StaleVersion
from ticketing.fields import (
    KINDS,
    MultiCheckboxField,
    build_form_class,
    choice_list,
    clean_values,
    make_form,
    raw_from_form,
)
from ticketing.models import AGQ, ROLE_LABELS, ROLES

ROLE_CHOICES = choice_list((role, ROLE_LABELS[role]) for role in ROLES)
TYPE_CATEGORIES = choice_list(
    [
        ("support", _l("Soporte")),
        ("onboarding", _l("Paso de la implantación")),
        ("escalation", _l("Escalamiento")),
    ]
)
QUEUE_LEVELS = choice_list(
    [
        ("1", _l("Primer nivel: mesa de ayuda de la institución")),
        ("2", _l("Segundo nivel: SGE")),
    ]
)
STATE_CATEGORIES = choice_list(
    [
        ("open", _l("Abierto")),
        ("waiting", _l("En espera")),
        ("done", _l("Resuelto (cierra el ticket)")),
        ("rejected", _l("Rechazado (cierra el ticket)")),
    ]
)
EVIDENCE = choice_list(
    [
        ("none", _l("Ninguna")),
        ("comment", _l("Un comentario")),
        ("attachment", _l("Un archivo adjunto")),
    ]
)
YAML_HELP = _l("YAML o JSON; vacío si no hay.")


def _select(label, choices, **kwargs):
    return SelectField(label, choices=choices, validate_choice=False, **kwargs)


def _checks(label, choices=(), **kwargs):
    return MultiCheckboxField(label, choices=list(choices), validate_choice=False, **kwargs)


class FieldRow(Form):
    label = StringField(_l("Etiqueta"))
    kind = _select(_l("Tipo de campo"), choice_list(KINDS.items()), default="text")
    required = BooleanField(_l("Obligatorio"))
    name = StringField(_l("Nombre interno"), description=_l("Vacío: se toma de la etiqueta."))
    label_en = StringField(_l("Etiqueta en inglés"))
    help_text = StringField(_l("Texto de ayuda"))
    fieldset = StringField(_l("Grupo"), description=_l("Campos seguidos con el mismo grupo."))
    default = StringField(_l("Valor inicial"))
    choices = TextAreaField(
        _l("Opciones"),
        description=_l("Para opción única o múltiple: una por línea, valor|etiqueta."),
        render_kw={"rows": 3},
    )
    options = TextAreaField(
        _l("Ajustes (YAML)"),
        description=_l("p. ej. max_length: 32 · min: 0 · max_mb: 5 · extensions: [pdf]"),
        render_kw={"rows": 2},
    )
    remove = BooleanField(_l("Quitar este campo"))


class ChecklistRow(Form):
    label = StringField(_l("Etiqueta"))
    required = BooleanField(_l("Obligatorio para completar"), default=True)
    roles = _checks(_l("Quién puede marcarlo (ninguno: quien atiende la cola)"), ROLE_CHOICES)
    evidence = _select(_l("Evidencia"), EVIDENCE, default="none")
    key = StringField(_l("Clave"), description=_l("Vacío: se toma de la etiqueta."))
    label_en = StringField(_l("Etiqueta en inglés"))
    hours = StringField(_l("Horas"), render_kw={"inputmode": "numeric"})
    schedulable = BooleanField(_l("Lleva fecha y hora"))
    remove = BooleanField(_l("Quitar este ítem"))


class StateRow(Form):
    label = StringField(_l("Etiqueta"))
    category = _select(_l("Categoría"), STATE_CATEGORIES, default="open")
    initial = BooleanField(_l("Estado inicial"))
    key = StringField(_l("Clave"), description=_l("Vacío: se toma de la etiqueta."))
    label_en = StringField(_l("Etiqueta en inglés"))
    remove = BooleanField(_l("Quitar este estado"))


class TransitionRow(Form):
    label = StringField(_l("Etiqueta del botón"))
    from_states = _checks(_l("Desde los estados (ninguno: cualquier estado abierto)"))
    to_state = _select(_l("Hacia el estado"), [])
    roles = _checks(
        _l("Quién puede hacerla (ninguno: quien atiende la cola)"),
        [*ROLE_CHOICES, *choice_list([("requester", _l("Quien solicitó el ticket"))])],
    )
    guards = _checks(_l("Condiciones que deben cumplirse"), choice_list(GUARD_KINDS.items()))
    effects = TextAreaField(
        _l("Efectos (YAML)"),
        description=YAML_HELP,
        render_kw={"rows": 3},
    )
    name = StringField(_l("Nombre interno"), description=_l("Vacío: se toma de la etiqueta."))
    label_en = StringField(_l("Etiqueta en inglés"))
    remove = BooleanField(_l("Quitar esta transición"))


class TypeForm(FlaskForm):
    """A whole ticket type; each section is a list of rows."""

    name = StringField(_l("Nombre"), render_kw={"required": True, "maxlength": 255})
    slug = StringField(
        _l("Identificador"),
        description=_l("Aparece en las direcciones; vacío: se toma del nombre. No cambia después."),
        render_kw={"maxlength": 64},
    )
    name_en = StringField(_l("Nombre en inglés"))
    description = TextAreaField(_l("Descripción"), render_kw={"rows": 2})
    category = _select(_l("Categoría"), TYPE_CATEGORIES, default="support")
    queue_level = _select(_l("Cola a la que llega"), QUEUE_LEVELS, default="1")
    open_roles = _checks(_l("Quién puede abrirlo"), ROLE_CHOICES)
    deadline_days = StringField(
        _l("Plazo en días"),
        description=_l("Vacío: sin fecha límite."),
        render_kw={"type": "number", "min": 1, "step": 1},
    )
    order = StringField(
        _l("Orden en el menú"), render_kw={"type": "number", "step": 1}, default="0"
    )
    active = BooleanField(_l("Activo (se puede abrir)"), default=True)
    on_open = TextAreaField(
        _l("Efectos al abrir (YAML)"), description=YAML_HELP, render_kw={"rows": 2}
    )
    field_rows = FieldList(FormField(FieldRow))
    checklist_rows = FieldList(FormField(ChecklistRow))
    state_rows = FieldList(FormField(StateRow))
    transition_rows = FieldList(FormField(TransitionRow))
    # fingerprint of the saved definition this form was read from (stale-edit check)
    base = HiddenField()


class ProcessForm(FlaskForm):
    upload = FileField(_l("Archivo YAML del proceso"), render_kw={"accept": ".yaml,.yml,.json"})
    text = TextAreaField(_l("O pegue aquí el texto del proceso"), render_kw={"rows": 10})


# section of the definition → (form list, row key attributes, name of a row, "add" label)
SECTIONS = {
    "fields": ("field_rows", ("label", "name"), _l("Campo"), _l("Agregar campo")),
    "checklist": ("checklist_rows", ("label", "key"), _l("Ítem"), _l("Agregar ítem")),
    "states": ("state_rows", ("label", "key"), _l("Estado"), _l("Agregar estado")),
    "transitions": (
        "transition_rows",
        ("label", "name"),
        _l("Transición"),
        _l("Agregar transición"),
    ),
}
# what each row keeps under "Más opciones", so a row shows what most types need
ADVANCED = {
    "fields": ("name", "label_en", "help_text", "fieldset", "default", "options"),
    "checklist": ("key", "label_en", "hours", "schedulable"),
    "states": ("key", "label_en"),
    "transitions": ("effects", "name", "label_en"),
}
GENERAL = (
    "name",
    "slug",
    "name_en",
    "description",
    "category",
    "queue_level",
    "open_roles",
    "deadline_days",
    "order",
    "active",
    "on_open",
)


def _row_draft(section: str, data: dict) -> dict:
    """A form row as the designer service reads it."""
    row = {k: v for k, v in data.items() if k not in ("remove", "csrf_token")}
    if section == "transitions":
        row["from"] = row.pop("from_states")
        row["to"] = row.pop("to_state")
    return row


def _keep_order(chosen, saved) -> list:
    """Ticked boxes in the order the saved definition had them, new ones after."""
    saved = [v if isinstance(v, str) else v.get("kind") for v in saved or []]
    kept = [v for v in saved if v in chosen]
    return kept + [v for v in chosen if v not in kept]


def draft_from_form(form: TypeForm, saved: dict | None = None) -> dict:
    """The draft a posted form describes: removed and empty rows left out.

    Checkboxes send their values in page order; a list the saved definition already
    had keeps its order, so saving an unchanged type changes nothing.
    """
    saved = saved or {}
    draft = {name: form[name].data for name in GENERAL}
    draft["open_roles"] = _keep_order(draft["open_roles"], saved.get("open_roles"))
    for section, (attr, keys, _name, _add) in SECTIONS.items():
        old_rows = {row.get(keys[1]): row for row in saved.get(section) or []}
        rows = []
        for entry in form[attr]:
            data = entry.data
            if data.get("remove") or not any((data.get(k) or "").strip() for k in keys):
                continue
            row = _row_draft(section, data)
            old = old_rows.get(row.get(keys[1])) or {}
            for name in ("roles", "guards", "from"):
                if name in row:
                    row[name] = _keep_order(row[name], old.get(name))
            rows.append(row)
        draft[section] = rows
    return draft


def form_data(draft: dict) -> dict:
    """A draft or a saved definition as the form's data (structures shown as text)."""
    data = {name: draft.get(name) for name in GENERAL}
    data["queue_level"] = str(draft.get("queue_level") or 1)
    for name in ("deadline_days", "order"):
        value = draft.get(name)
        data[name] = "" if value is None else str(value)
    data["on_open"] = _as_text(draft.get("on_open"))
    data["field_rows"] = [
        dict(
            row,
            choices=row["choices"]
            if isinstance(row.get("choices"), str)
            else design.choices_to_text(row.get("choices")),
            options=_as_text(row.get("options")),
        )
        for row in draft.get("fields") or []
    ]
    data["checklist_rows"] = [
        dict(row, hours="" if row.get("hours") is None else str(row["hours"]))
        for row in draft.get("checklist") or []
    ]
    data["state_rows"] = list(draft.get("states") or [])
    data["transition_rows"] = [
        dict(
            row,
            from_states=row.get("from") or [],
            to_state=row.get("to") or "",
            guards=[g if isinstance(g, str) else g.get("kind") for g in row.get("guards") or []],
            effects=_as_text(row.get("effects")),
        )
        for row in draft.get("transitions") or []
    ]
    return data


def _as_text(value) -> str:
    return value if isinstance(value, str) else design.yaml_text(value)


def _state_choices(draft: dict) -> list:
    """The states a transition may name: every state row with a key or a label."""
    pairs = []
    for state in draft.get("states") or []:
        key = (state.get("key") or "").strip() or design.key_from(state.get("label") or "")
        if key and key not in dict(pairs):
            pairs.append((key, f"{state.get('label') or key} ({key})"))
    return pairs


def build_form(draft: dict, *, creating: bool) -> TypeForm:
    """The designer form for a draft, with one empty row at the end of each section."""
    data = form_data(draft)
    states = _state_choices(draft)
    for section, (attr, *_rest) in SECTIONS.items():
        if section != "transitions" or states:  # a transition needs states to name
            data[attr].append({})
    form = TypeForm(formdata=None, data=data)
    for entry in form.transition_rows:
        chosen = entry.form.to_state.data
        known = dict(states)
        extra = [(chosen, chosen)] if chosen and chosen not in known else []
        entry.form.from_states.choices = choice_list(
            states + [(s, s) for s in entry.form.from_states.data or [] if s not in known]
        )
        entry.form.to_state.choices = choice_list([("", "—"), *states, *extra])
    if not creating:
        form.slug.render_kw = {**form.slug.render_kw, "readonly": True}
    return form


def row_errors(located) -> tuple[dict, list]:
    """Mistakes by (section, row index), and those of the whole type."""
    by_row, general = {}, []
    for where, message in located:
        name, _sep, rest = where.partition("[")
        if name in SECTIONS and rest.rstrip("]").isdigit():
            by_row.setdefault((name, int(rest.rstrip("]"))), []).append(message)
        elif where in SECTIONS:  # the section as a whole ("no initial state")
            by_row.setdefault((where, -1), []).append(message)
            general.append((where, message))
        else:
            general.append((where, message))
    return by_row, general


class DesignerView(RoleView):
    """Ticket types as data: list, create, edit inline, preview, process import/export."""

    roles = (AGQ,)

    def _render_form(self, form, *, ticket_type=None, errors=(), located=(), focus=None):
        by_row, general = row_errors(located)
        for where, message in general:
            if where in form and where in GENERAL:
                form[where].errors = [*form[where].errors, message]
        return self.render(
            "mesa/designer_form.html",
            form=form,
            ticket_type=ticket_type,
            usage=design.type_usage(ticket_type) if ticket_type else None,
            sections=[(s, a, n, add) for s, (a, _k, n, add) in SECTIONS.items()],
            errors=list(errors),
            row_errors=by_row,
            advanced=ADVANCED,
            focus=focus,
        )

    def _edit(self, ticket_type=None, draft=None):
        """Show a draft, or handle its post: add a row, or save through the service."""
        creating = ticket_type is None
        saved = draft if not creating else None

        def show(draft, base, **kwargs):
            form = build_form(draft, creating=creating)
            form.base.data = base
            return self._render_form(form, ticket_type=ticket_type, **kwargs)

        if request.method == "GET":
            return show(draft or {}, design.fingerprint(saved) if saved else "")
        posted = TypeForm()
        base = posted.base.data or ""
        if not posted.validate_on_submit():
            flash(_("La página caducó; revise los datos y vuelva a guardar."), "error")
            return show(draft_from_form(posted, saved), base)
        draft = draft_from_form(posted, saved)
        op = request.form.get("op", "")
        if op != "save":
            section = op.removeprefix("add:")
            focus = (section, len(draft[section])) if section in SECTIONS else None
            return show(draft, base, focus=focus)
        if not creating:
            draft["slug"] = ticket_type.slug
        try:
            version = design.save_type(
                current_user,
                draft,
                ticket_type.id if ticket_type else None,
                based_on=None if creating else base,
            )
        except design.DefinitionInvalid as exc:  # the page lists each mistake
            return show(draft, base, errors=exc.errors, located=exc.located)
        except StaleVersion as exc:
            # keep what was typed; the next save knowingly replaces the newer version
            flash(exc.message, "error")
            return show(draft, design.fingerprint(saved))
        except NotFound:
            abort(404)
        except DomainError as exc:
            flash(exc.message, "error")
            return show(draft, base)
        flash(
            _(
                "Tipo «%(name)s» guardado (versión %(n)s).",
                name=version.definition["name"],
                n=version.number,
            ),
            "success",
        )
        return redirect(url_for(".edit", type_id=version.ticket_type_id))

    @expose("/")
    def index(self):
        return self.render("mesa/designer_list.html", types=design.types_overview(current_user))

    @expose("/nuevo", methods=["GET", "POST"])
    def create(self):
        draft = {"active": True, "category": "support", "queue_level": 1, "order": 0}
        return self._edit(draft=draft)

    def _type(self, type_id):
        try:
            return design.draft_of(current_user, type_id)
        except NotFound:
            abort(404)

    @expose("/<int:type_id>/", methods=["GET", "POST"])
    def edit(self, type_id):
        ticket_type, definition = self._type(type_id)
        return self._edit(ticket_type, definition)

    @expose("/<int:type_id>/vista-previa", methods=["GET", "POST"])
    def preview(self, type_id):
        """The type's form as the portal renders it; sending it only checks the values."""
        ticket_type, _definition = self._type(type_id)
        version = current_version(ticket_type)
        defn = version.definition
        people = services.people_of(current_user.institution_id)
        form_class = build_form_class(version.id, defn["fields"], str(get_locale()))
        form = make_form(form_class, people=people)
        checked = False
        if request.method == "POST" and form.validate_on_submit():
            _values, errors = clean_values(
                defn["fields"],
                raw_from_form(form),
                people=people,
                max_mb=current_app.config["MAX_ATTACHMENT_MB"],
            )
            for name, message in errors.items():
                key = f"f_{name}"
                if key in form:
                    form[key].errors = [*form[key].errors, message]
            if errors:
                flash(_("Revise los campos marcados."), "error")
            else:
                checked = True
                flash(_("Los datos son válidos. No se registró ningún ticket."), "success")
        return self.render(
            "mesa/designer_preview.html",
            form=form,
            definition=defn,
            ticket_type=ticket_type,
            version=version,
            checked=checked,
        )

    @expose("/proceso", methods=["GET", "POST"])
    def process(self):
        """Download the whole process as YAML; upload or paste one to import it."""
        form = ProcessForm()
        errors, counts = [], None
        if request.method == "POST":
            if not form.validate_on_submit():
                errors = [_("La página caducó; vuelva a enviar el archivo.")]
            else:
                text = form.text.data or ""
                upload = form.upload.data
                if upload and getattr(upload, "filename", ""):
                    try:
                        text = upload.read().decode("utf-8-sig")
                    except UnicodeDecodeError:
                        errors = [_("El archivo no está en UTF-8.")]
                if not errors:
                    try:
                        counts = design.import_process_text(current_user, text)
                    except design.DefinitionInvalid as exc:
                        errors = exc.errors
        return self.render(
            "mesa/designer_process.html",
            form=form,
            errors=errors,
            counts=counts,
            types=design.types_overview(current_user),
        )

    @expose("/proceso.yaml")
    def export(self):
        text = design.export_process_text(current_user)
        return Response(
            text,
            content_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="proceso-mesa.yaml"'},
        )


def register(admin) -> None:
    """Mount the designer."""
    from admin import SETTINGS

    admin.add_view(
        DesignerView(name=_l("Diseñador"), endpoint="designer", url="/disenador", category=SETTINGS)
    )
