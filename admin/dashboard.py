"""Tablero: a queue's numbers as server-side SVG charts, from a few small queries.

Every number comes from the maintained figures (`TicketCount`, `TicketWeek`, kept by
`ticketing.stats` in step with the tickets) seen through the visibility queries, or, for
what depends on the clock (open tickets overdue or still on time), from a count of the
overdue index capped at `COUNT_CAP`: no query reads the institution's tickets, so the
page costs the same few queries and about the same time at any number of tickets.
"""

import datetime as dt
from dataclasses import dataclass, field

from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import fn

from admin.base import RoleView
from admin.tickets import capped_count
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGQ,
    AIQ,
    DONE,
    FIRST_LEVEL,
    FOCAL,
    OPEN,
    REJECTED,
    SECOND_LEVEL,
    STAGE_LABELS,
    STAGES,
    WAITING,
    Institution,
    Ticket,
    now,
)
from ticketing.models.stats import TicketCount, TicketWeek
from ticketing.visibility import (
    visible_institutions,
    visible_ticket_counts,
    visible_ticket_weeks,
    visible_tickets,
)

WEEKS = 12
CLOSED_CATEGORIES = (DONE, REJECTED)

# Colour pairs chosen to stay distinct for the common colour-vision deficiencies;
# every bar also carries its label and value as text, so colour is never the only cue.
COLORS = {
    "opened": "#1f5fa8",
    "closed": "#d9730d",
    "open": "#1f5fa8",
    "waiting": "#d9730d",
    "met": "#2e7d32",
    "missed": "#b3261e",
    "overdue": "#b3261e",
    "on_time": "#1f5fa8",
    "stage": "#1f5fa8",
}


# ---------------------------------------------------------------- numbers


def week_starts(moment: dt.datetime, weeks: int = WEEKS) -> list[dt.datetime]:
    """Monday 00:00 (UTC) of each of the last `weeks` weeks, oldest first, this week last."""
    monday = dt.datetime.combine(moment.date() - dt.timedelta(days=moment.weekday()), dt.time())
    return [monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def ticket_numbers(user, moment: dt.datetime | None = None) -> dict:
    """Opened and closed per week, and deadlines met and missed, for `user`'s tickets.

    The weeks and the deadlines of closed tickets come from the maintained weekly figures
    (`TicketWeek`, one row per institution, level, week and kind); the open tickets'
    deadlines depend on the clock, so they are capped counts of the overdue index.
    """
    moment = moment or now()
    starts = week_starts(moment)
    weeks = {start.date(): {"opened": 0, "closed": 0, "met": 0, "missed": 0} for start in starts}
    rows = (
        visible_ticket_weeks(user)
        .select(TicketWeek.week, TicketWeek.kind, fn.SUM(TicketWeek.n))
        .where(TicketWeek.week >= starts[0].date())
        .group_by(TicketWeek.week, TicketWeek.kind)
        .tuples()
    )
    for week, kind, n in rows:
        week = dt.date.fromisoformat(week) if isinstance(week, str) else week
        if week in weeks:
            weeks[week][kind] = int(n or 0)
    active = visible_tickets(user).where(
        Ticket.state_category.in_(ACTIVE_CATEGORIES) & Ticket.due_at.is_null(False)
    )
    return {
        "weeks": [
            {
                "start": start,
                "opened": weeks[start.date()]["opened"],
                "closed": weeks[start.date()]["closed"],
            }
            for start in starts
        ],
        "deadlines": {
            "met": sum(w["met"] for w in weeks.values()),
            "missed": sum(w["missed"] for w in weeks.values()),
            "overdue": capped_count(active.where(Ticket.due_at < moment)),
            "on_time": capped_count(active.where(Ticket.due_at >= moment)),
        },
    }


def backlog_by_level(user) -> dict[int, dict[str, int]]:
    """Open and waiting tickets per queue level: {level: {"open": n, "waiting": n}}."""
    result = {level: {OPEN: 0, WAITING: 0} for level in (FIRST_LEVEL, SECOND_LEVEL)}
    figures = visible_ticket_counts(user)
    if figures is None:
        return result
    rows = (
        figures.select(TicketCount.queue_level, TicketCount.state_category, fn.SUM(TicketCount.n))
        .where(TicketCount.state_category.in_(ACTIVE_CATEGORIES))
        .group_by(TicketCount.queue_level, TicketCount.state_category)
        .tuples()
    )
    for level, category, count in rows:
        result.setdefault(int(level), {OPEN: 0, WAITING: 0})[category] = int(count or 0)
    return result


def institutions_by_stage(user) -> list[tuple[str, int]]:
    """Institutions in the rollout (SGE excluded) per stage, in stage order."""
    rows = dict(
        visible_institutions(user)
        .select(Institution.stage, fn.COUNT(Institution.id))
        .where(Institution.is_sge == False)
        .group_by(Institution.stage)
        .tuples()
    )
    ordered = [(stage, rows.pop(stage, 0)) for stage in STAGES]
    return ordered + sorted(rows.items())  # a stage the code does not know still shows


# ---------------------------------------------------------------- charts


@dataclass
class Chart:
    """What the SVG template draws: x and widths in % of the width, y and heights in px.

    Mixing units keeps text at its real size on any screen: the chart stretches sideways
    to its card, from a phone's width up, while labels never shrink.
    """

    height: int
    bars: list[dict] = field(default_factory=list)
    texts: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (at least 1)."""
    if value <= 5:
        return max(value, 1)
    for step in (2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return -(-value // step) * step
    return value


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def column_chart(categories: list[str], series: list[tuple[str, str, list[int]]]) -> Chart:
    """Grouped vertical bars: one group per category, one bar per (key, label, values)."""
    height, top, bottom = 220, 10, 26
    left, right = 9.0, 1.0  # % of the width: room for the axis labels
    plot_h = height - top - bottom
    peak = _nice_max(max((v for _k, _l, values in series for v in values), default=0))
    chart = Chart(height)
    for tick in sorted({0, peak} | ({peak // 2} if peak % 2 == 0 else set())):
        y = round(top + plot_h - plot_h * tick / peak, 1)
        chart.lines.append({"x1": _pct(left), "x2": _pct(100 - right), "y1": y, "y2": y})
        chart.texts.append({"x": _pct(left - 1), "y": y + 4, "text": str(tick), "anchor": "end"})
    group = (100 - left - right) / max(len(categories), 1)
    bar_w = group * 0.8 / max(len(series), 1)
    for i, category in enumerate(categories):
        x0 = left + group * i + group * 0.1
        for j, (key, label, values) in enumerate(series):
            h = round(plot_h * values[i] / peak, 1)
            chart.bars.append(
                {
                    "x": _pct(x0 + bar_w * j),
                    "y": round(top + plot_h - h, 1),
                    "w": _pct(bar_w * 0.92),
                    "h": h,
                    "color": COLORS[key],
                    "title": f"{label}, {category}: {values[i]}",
                }
            )
        if (len(categories) - 1 - i) % 2 == 0:  # every other label, ending on the last
            chart.texts.append(
                {
                    "x": _pct(x0 + group * 0.4),
                    "y": height - bottom + 16,
                    "text": category,
                    "anchor": "middle",
                }
            )
    return chart


def bar_chart(rows: list[tuple[str, str, int]]) -> Chart:
    """Horizontal bars, one per (key, label, value), the label above its bar."""
    row_h = 40
    peak = _nice_max(max((value for _k, _l, value in rows), default=0))
    chart = Chart(row_h * max(len(rows), 1) + 4)
    for i, (key, label, value) in enumerate(rows):
        y = 4 + row_h * i
        w = 85 * value / peak  # the rest of the width holds the value
        chart.texts.append({"x": "0%", "y": y + 12, "text": label, "anchor": "start"})
        chart.bars.append(
            {
                "x": "0%",
                "y": y + 17,
                "w": _pct(w),
                "h": 16,
                "color": COLORS[key],
                "title": f"{label}: {value}",
            }
        )
        chart.texts.append({"x": _pct(w + 1.5), "y": y + 30, "text": str(value), "anchor": "start"})
    return chart


# ---------------------------------------------------------------- view

LEVEL_LABELS = {FIRST_LEVEL: _l("Primer nivel"), SECOND_LEVEL: _l("Segundo nivel (SGE)")}


def dashboard_context(user, moment: dt.datetime | None = None) -> dict:
    """Everything the dashboard shows for `user`: numbers, charts and their tables."""
    moment = moment or now()
    numbers = ticket_numbers(user, moment)
    weeks = numbers["weeks"]
    categories = [w["start"].strftime("%d/%m") for w in weeks]
    weekly = column_chart(
        categories,
        [
            ("opened", _("Abiertos"), [w["opened"] for w in weeks]),
            ("closed", _("Cerrados"), [w["closed"] for w in weeks]),
        ],
    )
    backlog = backlog_by_level(user)
    levels = [FIRST_LEVEL, SECOND_LEVEL] if user.role != AGQ else [SECOND_LEVEL]
    backlog_rows = [
        (category, f"{LEVEL_LABELS[level]} · {label}", backlog[level][category])
        for level in levels
        for category, label in ((OPEN, _("abiertos")), (WAITING, _("en espera")))
    ]
    deadlines = numbers["deadlines"]
    deadline_rows = [
        ("met", _("Cerrados a tiempo"), deadlines["met"]),
        ("missed", _("Cerrados fuera de plazo"), deadlines["missed"]),
        ("overdue", _("Abiertos y vencidos"), deadlines["overdue"]),
        ("on_time", _("Abiertos dentro del plazo"), deadlines["on_time"]),
    ]
    stage_rows = None
    if user.role == AGQ:
        stage_rows = [
            ("stage", STAGE_LABELS.get(stage, stage), n) for stage, n in institutions_by_stage(user)
        ]
    this_week = weeks[-1]
    return {
        "weeks": weeks,
        "weekly_chart": weekly,
        "backlog_rows": backlog_rows,
        "backlog_chart": bar_chart(backlog_rows),
        "deadline_rows": deadline_rows,
        "deadline_chart": bar_chart(deadline_rows),
        "stage_rows": stage_rows,
        "stage_chart": bar_chart(stage_rows) if stage_rows is not None else None,
        "totals": {
            "backlog": sum(n for _k, _l, n in backlog_rows),
            "overdue": deadlines["overdue"],
            "opened_week": this_week["opened"],
            "closed_week": this_week["closed"],
        },
        "colors": COLORS,
        "is_sge": user.role == AGQ,
    }


class DashboardView(RoleView):
    """The agents' dashboard: their queue's flow, backlog and deadlines (and stages, AGQ)."""

    roles = (FOCAL, AIQ, AGQ)

    @expose("/")
    def index(self):
        return self.render("mesa/dashboard.html", **dashboard_context(current_user))


def register(admin) -> None:
    """Mount the dashboard under /tablero/."""
    admin.add_view(DashboardView(name=_l("Tablero"), endpoint="dashboard", url="/tablero"))
