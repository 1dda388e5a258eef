"""Rollout screens: the AGQ's pipeline of institutions, each institution's page, and the
plantilla de seguimiento (each institution's and the default one)."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.base import RoleView
from admin.tickets import attach_errors
from ticketing import services
from ticketing.errors import DomainError, NotFound, ValidationFailed
from ticketing.fields import build_form_class, make_form, raw_from_form
from ticketing.models import AGQ, AIQ, FOCAL, STAGE_LABELS, STAGES, DefaultTrackingItem, User


def _overview_or_404(institution_id):
    try:
        return services.institution_overview(current_user, institution_id)
    except NotFound:
        abort(404)


def _run(fn, success) -> bool:
    """Call a service; flash its refusal or `success`."""
    try:
        fn()
    except DomainError as exc:
        flash(exc.message, "error")
        for name, message in exc.fields.items():
            if message != exc.message:
                flash(f"{name}: {message}", "error")
        return False
    flash(success, "success")
    return True


class PipelineView(RoleView):
    """Every institution in the rollout: where it is, since when, what is overdue (AGQ)."""

    roles = (AGQ,)

    @expose("/")
    def index(self):
        return self.render(
            "mesa/pipeline.html",
            rows=services.rollout_pipeline(current_user),
            stages=[(key, STAGE_LABELS[key]) for key in STAGES],
        )


class InstitutionPageView(RoleView):
    """One institution: its stages with dates, its rollout steps, its plantilla."""

    roles = (FOCAL, AIQ, AGQ)

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        if current_user.role == AGQ:
            return redirect(url_for("pipeline.index"))
        return redirect(url_for(".details", institution_id=current_user.institution_id))

    @expose("/<int:institution_id>/")
    def details(self, institution_id):
        overview = _overview_or_404(institution_id)
        registrable = []
        if current_user.role == AGQ:
            registrable = [t for t, _people in self._registrable(overview["institution"]).values()]
        return self.render("mesa/institution.html", registrable=registrable, **overview)

    def _registrable(self, institution) -> dict:
        """Types the AGQ may register for this institution's people: slug → (type, people)."""
        result = {}
        people = (
            User.select()
            .where((User.institution == institution.id) & (User.active == True))
            .order_by(User.full_name)
        )
        for person in people:
            for ticket_type in services.openable_types(current_user, for_user=person):
                result.setdefault(ticket_type.slug, (ticket_type, []))[1].append(person)
        return result

    @expose("/<int:institution_id>/registrar/<slug>/", methods=["GET", "POST"])
    def register(self, institution_id, slug):
        """The AGQ registers a request that reached SGE by mail or on paper."""
        if current_user.role != AGQ:
            abort(404)
        institution = _overview_or_404(institution_id)["institution"]
        ticket_type, people = self._registrable(institution).get(slug, (None, []))
        if ticket_type is None:
            abort(404)
        version = services.current_version(ticket_type)
        defn = version.definition
        form_class = build_form_class(version.id, defn["fields"], current_user.locale)
        form = make_form(form_class, people=services.people_of(institution.id))
        chosen = request.form.get("on_behalf_of", type=int)
        if request.method == "POST" and chosen not in {p.id for p in people}:
            flash(_("Elija a nombre de quién se registra."), "error")
        elif request.method == "POST" and form.validate_on_submit():
            try:
                ticket = services.open_ticket(
                    current_user,
                    slug,
                    form.title.data,
                    raw_from_form(form),
                    on_behalf_of=chosen or 0,
                )
            except ValidationFailed as exc:
                attach_errors(form, exc)
                flash(exc.message, "error")
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                flash(_("Ticket %(r)s registrado.", r=ticket.reference), "success")
                return redirect(url_for("ticket.details", ticket_id=ticket.id))
        return self.render(
            "mesa/institution_register.html",
            form=form,
            definition=defn,
            institution=institution,
            people=people,
            chosen=chosen,
        )


class TrackingView(RoleView):
    """The plantilla de seguimiento: the default one, and each institution's, item by item."""

    roles = (AGQ,)

    @expose("/")
    def index(self):
        return self.render(
            "mesa/tracking_default.html",
            items=list(DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)),
        )

    @expose("/plantilla/agregar", methods=["POST"])
    def add_default(self):
        _run(
            lambda: services.add_default_tracking_item(current_user, request.form.get("label")),
            _("Ítem agregado a la plantilla por defecto."),
        )
        return redirect(url_for(".index"))

    @expose("/plantilla/<int:item_id>/quitar", methods=["POST"])
    def remove_default(self, item_id):
        _run(
            lambda: services.remove_default_tracking_item(current_user, item_id),
            _("Ítem quitado de la plantilla por defecto."),
        )
        return redirect(url_for(".index"))

    @expose("/<int:institution_id>/")
    def institution(self, institution_id):
        overview = _overview_or_404(institution_id)
        return self.render("mesa/tracking.html", **overview)

    def _back(self, institution_id):
        return redirect(url_for(".institution", institution_id=institution_id))

    @expose("/<int:institution_id>/item/<int:item_id>", methods=["POST"])
    def set_item(self, institution_id, item_id):
        _overview_or_404(institution_id)
        met = request.form.get("met") == "1"
        _run(
            lambda: services.set_tracking_item(
                current_user, item_id, met, note=request.form.get("note")
            ),
            _("Ítem marcado como cumplido.") if met else _("Ítem marcado como pendiente."),
        )
        return self._back(institution_id)

    @expose("/<int:institution_id>/agregar", methods=["POST"])
    def add_item(self, institution_id):
        _overview_or_404(institution_id)
        _run(
            lambda: services.add_tracking_item(
                current_user, institution_id, request.form.get("label")
            ),
            _("Ítem agregado."),
        )
        return self._back(institution_id)

    @expose("/<int:institution_id>/item/<int:item_id>/quitar", methods=["POST"])
    def remove_item(self, institution_id, item_id):
        _overview_or_404(institution_id)
        _run(lambda: services.remove_tracking_item(current_user, item_id), _("Ítem quitado."))
        return self._back(institution_id)


def register(admin) -> None:
    """Mount the rollout screens."""
    from admin import INSTITUTIONS

    admin.add_view(
        PipelineView(
            name=_l("Implantación"), endpoint="pipeline", url="/implantacion", category=INSTITUTIONS
        )
    )
    admin.add_view(
        TrackingView(
            name=_l("Plantilla de seguimiento"),
            endpoint="tracking",
            url="/seguimiento",
            category=INSTITUTIONS,
        )
    )
    admin.add_view(
        InstitutionPageView(name=_l("Institución"), endpoint="institution", url="/institucion")
    )
