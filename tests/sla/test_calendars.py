"""Queues' business calendars as data: who edits which, what is refused, and how the
saved calendar reads back for the arithmetic."""

import datetime as dt

import pytest

from tests.conftest import text_of, user
from ticketing import services
from ticketing.errors import NotFound, StaleVersion, ValidationFailed
from ticketing.models import BusinessCalendar, CalendarDay, Institution, Queue
from ticketing.services.calendars import default_hours


def _queue(sigla="INSTA"):
    return Queue.get(Queue.institution == Institution.get(Institution.sigla == sigla).id)


def test_a_queue_without_a_calendar_works_the_default_one(app):
    calendar = services.work_calendar(_queue().id)
    assert calendar.timezone == "America/Guayaquil" and calendar.national_holidays
    assert calendar.is_working_day(dt.date(2026, 3, 9)) and not calendar.is_working_day(
        dt.date(2026, 2, 16)  # Carnaval
    )


def test_the_aiq_edits_her_queues_calendar_and_it_reads_back(app):
    queue = _queue()
    hours = default_hours() | {"5": [["09:00", "13:00"]]}
    services.set_calendar(
        user("aiq"),
        queue.id,
        hours=hours,
        timezone="America/Guayaquil",
        national_holidays=True,
        expected_version=0,
    )
    services.declare_day(user("aiq"), queue.id, "2026-03-06", working=False, label="Fiesta local")
    calendar = services.work_calendar(queue.id)
    assert calendar.hours[5] == (("09:00", "13:00"),)
    assert not calendar.is_working_day(dt.date(2026, 3, 6))
    assert calendar.is_working_day(dt.date(2026, 3, 7))  # a Saturday with hours now
    with pytest.raises(StaleVersion):
        services.set_calendar(
            user("aiq"),
            queue.id,
            hours=hours,
            timezone="America/Guayaquil",
            national_holidays=True,
            expected_version=0,
        )


@pytest.mark.parametrize("who", ["focal", "interno", "aiq_b", "focal_b"])
def test_nobody_else_edits_it(app, who):
    queue = _queue()
    with pytest.raises(NotFound):
        services.set_calendar(
            user(who),
            queue.id,
            hours=default_hours(),
            timezone="America/Guayaquil",
            national_holidays=True,
            expected_version=0,
        )
    with pytest.raises(NotFound):
        services.declare_day(user(who), queue.id, "2026-03-06", working=False, label="x")
    assert not BusinessCalendar.select().exists()


def test_the_agq_edits_any_queue(app):
    services.declare_day(
        user("agq"), _queue("INSTB").id, "2026-03-06", working=True, label="Recuperación"
    )
    assert CalendarDay.select().count() == 1


@pytest.mark.parametrize(
    "hours, field",
    [
        ({"0": [["8:00", "17:00"]]}, "day0"),
        ({"0": [["17:00", "08:00"]]}, "day0"),
        ({"0": [["08:00", "13:00"], ["12:00", "17:00"]]}, "day0"),
        ({"0": [["08:00", "09:00"]] * 5}, "day0"),
        ({}, "hours"),
        ({"3": [["25:00", "26:00"]]}, "day3"),
    ],
)
def test_bad_hours_are_refused_beside_their_day(app, hours, field):
    with pytest.raises(ValidationFailed) as refused:
        services.set_calendar(
            user("aiq"),
            _queue().id,
            hours=hours,
            timezone="America/Guayaquil",
            national_holidays=True,
            expected_version=0,
        )
    assert field in refused.value.fields
    assert not BusinessCalendar.select().exists()


@pytest.mark.parametrize(
    "day, label, field",
    [
        ("03/06/2026", "x", "day"),
        ("9999-01-01", "x", "day"),
        ("2026-03-06", "", "label"),
        ("2026-03-06", "x" * 121, "label"),
    ],
)
def test_bad_declared_days_are_refused(app, day, label, field):
    with pytest.raises(ValidationFailed) as refused:
        services.declare_day(user("aiq"), _queue().id, day, working=False, label=label)
    assert field in refused.value.fields
    assert not CalendarDay.select().exists()


def test_an_unknown_time_zone_is_refused(app):
    with pytest.raises(ValidationFailed) as refused:
        services.set_calendar(
            user("aiq"),
            _queue().id,
            hours=default_hours(),
            timezone="Marte/Olympus",
            national_holidays=True,
            expected_version=0,
        )
    assert "timezone" in refused.value.fields


def test_the_calendar_page_round_trip(client, auth, app):
    queue = _queue()
    auth.login("aiq")
    page = text_of(client.get(f"/calendarios/{queue.id}/"))
    assert "Carnaval" in page or "Próximos feriados nacionales" in page
    form = {"version": "0", "timezone": "America/Guayaquil", "nacionales": "1"}
    form |= {f"d{d}_0_inicio": "08:30" for d in range(5)} | {
        f"d{d}_0_fin": "16:30" for d in range(5)
    }
    assert client.post(f"/calendarios/{queue.id}/", data=form).status_code == 302
    assert services.work_calendar(queue.id).hours[0] == (("08:30", "16:30"),)
    bad = form | {"version": "1", "d1_0_inicio": "18:00"}
    response = client.post(f"/calendarios/{queue.id}/", data=bad)
    assert response.status_code == 422 and "posterior" in text_of(response)
    response = client.post(
        f"/calendarios/{queue.id}/dias",
        data={"day": "2026-03-06", "label": "Fiesta", "working": "0"},
    )
    assert response.status_code == 302
    day = CalendarDay.get()
    other = _queue("INSTB")
    assert client.post(f"/calendarios/{other.id}/dias/{day.id}/quitar").status_code == 404
    assert client.get(f"/calendarios/{other.id}/").status_code == 404
    assert client.post(f"/calendarios/{queue.id}/dias/{day.id}/quitar").status_code == 302
    assert not CalendarDay.select().exists()
    auth.login("focal")
    assert client.get("/calendarios/").status_code == 404
