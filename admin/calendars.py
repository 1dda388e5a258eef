"""Calendarios: each queue's business calendar (hours, time zone, declared days)."""

import datetime as dt

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import SETTINGS
from admin.base import RoleView, bounded_id
from ticketing import services
from ticketing.business_time import national_days_off
from ticketing.errors import DomainError
from ticketing.models import AGQ, AIQ, Institution, Queue
from ticketing.services.calendars import SPANS_MAX
from ticketing.visibility import editable_queues

LIST_MAX = 500
SPANS_SHOWN = 2  # spans a weekday's row offers in the form (the service accepts SPANS_MAX)
UPCOMING_DAYS = 365


def weekday_names() -> list[str]:
    return [
        _("Lunes"),
        _("Martes"),
        _("Miércoles"),
        _("Jueves"),
        _("Viernes"),
        _("Sábado"),
        _("Domingo"),
    ]


def _hours_from_form(form) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in range(7):
        spans = []
        for i in range(SPANS_MAX):
            start = form.get(f"d{day}_{i}_inicio", "").strip()
            end = form.get(f"d{day}_{i}_fin", "").strip()
            if start or end:
                spans.append([start, end])
        hours[str(day)] = spans
    return hours


class CalendarsView(RoleView):
    """The queues' calendars an AIQ (their institution's) or the AGQ (all) may edit."""

    roles = (AIQ, AGQ)

    @expose("/")
    def index(self):
        queues = list(
            editable_queues(current_user)
            .select(Queue, Institution)
            .join(Institution)
            .order_by(Institution.is_sge.desc(), Institution.sigla, Queue.level)
            .limit(LIST_MAX)
        )
        return self.render("mesa/calendars.html", queues=queues)

    def _page(self, queue_id, *, status=200, errors=None, hours=None):
        try:
            queue, row, days = services.calendar_of(current_user, bounded_id(queue_id))
        except DomainError:
            abort(404)
        today = dt.date.today()
        horizon = today + dt.timedelta(days=UPCOMING_DAYS)
        national = sorted(
            d
            for year in {today.year, horizon.year}
            for d in national_days_off(year)
            if today <= d <= horizon
        )
        response = make_response(
            self.render(
                "mesa/calendar.html",
                queue=queue,
                calendar=row,
                hours=hours if hours is not None else (row.hours or {}),
                days=days,
                national=[(d, format_date(d, "full")) for d in national],
                weekdays=weekday_names(),
                spans=SPANS_SHOWN,
                errors=errors or {},
            )
        )
        response.status_code = status
        return response

    @expose("/<int:queue_id>/", methods=["GET", "POST"])
    def calendar(self, queue_id):
        if request.method == "GET":
            return self._page(queue_id)
        hours = _hours_from_form(request.form)
        try:
            services.set_calendar(
                current_user,
                bounded_id(queue_id),
                hours=hours,
                timezone=request.form.get("timezone", ""),
                national_holidays=request.form.get("nacionales") == "1",
                expected_version=request.form.get("version", ""),
            )
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash(exc.message, "error")
            return self._page(queue_id, status=exc.status, errors=exc.fields, hours=hours)
        flash(_("Calendario guardado."), "success")
        return redirect(url_for(".calendar", queue_id=queue_id))

    @expose("/<int:queue_id>/dias", methods=["POST"])
    def declare(self, queue_id):
        try:
            services.declare_day(
                current_user,
                bounded_id(queue_id),
                request.form.get("day", ""),
                working=request.form.get("working") == "1",
                label=request.form.get("label", ""),
            )
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash(exc.message, "error")
            return self._page(queue_id, status=exc.status, errors=exc.fields)
        flash(_("Día agregado al calendario."), "success")
        return redirect(url_for(".calendar", queue_id=queue_id))

    @expose("/<int:queue_id>/dias/<int:day_id>/quitar", methods=["POST"])
    def remove(self, queue_id, day_id):
        try:
            services.remove_day(current_user, bounded_id(queue_id), bounded_id(day_id))
        except DomainError:
            abort(404)
        flash(_("Día quitado del calendario."), "success")
        return redirect(url_for(".calendar", queue_id=queue_id))


def register(admin) -> None:
    """Mount Calendarios for the AIQ and the AGQ, under Configuración."""
    admin.add_view(
        CalendarsView(
            name=_l("Calendarios"), endpoint="calendars", url="/calendarios", category=SETTINGS
        )
    )
