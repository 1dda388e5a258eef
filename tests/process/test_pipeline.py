"""The AGQ's pipeline of institutions, each institution's page and the plantilla screens."""

import datetime as dt
import re

import pytest
from stdnum.ec import ci

from tests.conftest import text_of, user
from tests.process.helpers import age_ticket, new_aiq, next_step, oficio_fields
from ticketing import services, stats
from ticketing.db import count_queries
from ticketing.errors import PermissionDenied
from ticketing.models import AIQ, DefaultTrackingItem, Institution, Ticket, TrackingItem, now

_cedulas = (c for c in (f"02{n:08d}" for n in range(10**7, 10**8)) if ci.is_valid(c))
_rucs = (f"1768{n:05d}0001" for n in range(100, 99999))


def _valid_ruc(number: str) -> bool:
    from stdnum.ec import ruc

    return ruc.is_valid(number)


def _institution_asking_for_production(n: int):
    """An institution in the training environment whose AIQ asked for production."""
    number = next(r for r in _rucs if _valid_ruc(r))
    institution = services.create_institution(
        name=f"Institución {n}", ruc=number, sigla=f"INS{n}", stage="ambiente_capacitacion"
    )
    aiq = services.create_user(
        services.SYSTEM,
        full_name=f"AIQ {n}",
        cedula=next(_cedulas),
        email=f"aiq{n}@ins{n}.ec",
        role=AIQ,
        institution_id=institution.id,
        invite=False,
    )
    ticket = services.open_ticket(aiq, "paso-produccion", f"Paso {n}", {"resumen": "Listo."})
    return institution, ticket


def test_pipeline_lists_overdue_first_with_days_in_stage_and_dates(app):
    agq = user("agq")
    calm, _ = _institution_asking_for_production(1)
    late, late_ticket = _institution_asking_for_production(2)
    Ticket.update(due_at=now() - dt.timedelta(days=2)).where(Ticket.id == late_ticket.id).execute()
    stats.rebuild()  # tickets written behind the services' back
    Institution.update(stage_since=now() - dt.timedelta(days=9)).where(
        Institution.id == calm.id
    ).execute()

    rows = services.rollout_pipeline(agq)
    assert [r["institution"].sigla for r in rows][:2] == ["INS2", "INS1"]
    assert "SGE" not in {r["institution"].sigla for r in rows}
    by_sigla = {r["institution"].sigla: r for r in rows}
    assert by_sigla["INS2"]["overdue"] == 1 and by_sigla["INS1"]["overdue"] == 0
    assert by_sigla["INS1"]["days_in_stage"] == 9
    assert by_sigla["INS1"]["stage"] == "paso_produccion"
    assert set(by_sigla["INS1"]["reached"]) == {"ambiente_capacitacion", "paso_produccion"}
    assert [t.title for t in by_sigla["INS2"]["steps"]] == ["Paso 2"]
    assert by_sigla["INSTA"]["steps"] == []  # in production, nothing under way

    with pytest.raises(PermissionDenied):
        services.rollout_pipeline(user("aiq"))


def test_pipeline_costs_the_same_queries_for_two_or_eight_institutions(client, auth):
    agq = auth.login("agq")
    _institution_asking_for_production(1)
    with count_queries() as few:
        services.rollout_pipeline(agq)
    assert client.get("/implantacion/").status_code == 200  # the session's user is loaded
    with count_queries() as few_page:
        assert client.get("/implantacion/").status_code == 200
    for n in range(2, 8):
        _, ticket = _institution_asking_for_production(n)
        if n % 2:
            age_ticket(ticket.id, 30)
            Ticket.update(due_at=now() - dt.timedelta(days=1)).where(
                Ticket.id == ticket.id
            ).execute()
            stats.rebuild()  # tickets written behind the services' back
    for n in range(2):  # oficios not yet accepted are rows too
        services.open_ticket(
            agq,
            "solicitud-uso",
            f"Oficio {n}",
            oficio_fields(sigla=f"ofi{n}", ruc=next(r for r in _rucs if _valid_ruc(r))),
        )
    with count_queries() as many:
        rows = services.rollout_pipeline(agq)
    with count_queries() as many_page:
        page = client.get("/implantacion/").get_data(as_text=True)
    assert len(rows) == 11
    assert {r["sigla"] for r in rows if r["request"]} == {"OFI0", "OFI1"}
    assert len(many) == len(few) == 5
    assert len(many_page) == len(few_page)
    order = re.findall(r'data-testid="pipeline-row-(\w+)"', page)
    assert set(order[:3]) == {"INS3", "INS5", "INS7"}  # the overdue ones first


def test_institution_page_shows_its_stages_to_its_people_only(client, auth, rollout):
    institution = rollout.institution
    url = f"/institucion/{institution.id}/"
    auth.login("agq")
    page = client.get(url).get_data(as_text=True)
    solicitud = rollout.steps[0]
    assert f'data-testid="reached-solicitud">{solicitud.created_at:%Y-%m-%d}<' in page
    assert "Ambiente de capacitación" in text_of(client.get(url))
    assert 'data-testid="reached-produccion"' not in page  # not reached yet
    for key in ("aiq_b", "focal_b", "interno_b", "focal"):
        auth.login(key)
        assert client.get(url).status_code == 404, key
    auth.login("aiq")  # institution A's AIQ sees its own institution
    assert client.get(f"/institucion/{user('aiq').institution_id}/").status_code == 200


def test_default_plantilla_is_the_agqs_to_edit_and_new_institutions_start_from_it(client, auth):
    auth.login("aiq")
    assert client.get("/seguimiento/").status_code == 404
    assert client.post("/seguimiento/plantilla/agregar", data={"label": "x"}).status_code == 404
    auth.login("agq")
    response = client.post(
        "/seguimiento/plantilla/agregar",
        data={"label": "Firma electrónica configurada"},
        follow_redirects=True,
    )
    assert "Firma electrónica configurada" in text_of(response)
    first = DefaultTrackingItem.select().order_by(DefaultTrackingItem.order).first()
    client.post(f"/seguimiento/plantilla/{first.id}/quitar")
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
    labels = [t.label for t in new_aiq().institution.tracking_items]
    assert "Firma electrónica configurada" in labels and first.label not in labels
    # institutions accepted earlier keep theirs
    assert first.label in [t.label for t in user("aiq").institution.tracking_items]


def test_an_item_added_for_one_institution_holds_its_approval_back(client, auth, rollout):
    institution = rollout.institution
    TrackingItem.update(met=True).where(TrackingItem.institution == institution).execute()
    request = services.open_ticket(rollout.aiq, "paso-produccion", "Paso", {"resumen": "Listo."})
    auth.login("agq")
    client.post(
        f"/seguimiento/{institution.id}/agregar", data={"label": "Archivo físico digitalizado"}
    )
    page = text_of(client.get(f"/ticket/{request.id}/"))
    assert "Archivo físico digitalizado" in page  # the reason beside the disabled button
    client.post(f"/ticket/{request.id}/transition", data={"name": "aprobar"})
    assert Ticket.get_by_id(request.id).state == "solicitado"
    item = TrackingItem.get(TrackingItem.label == "Archivo físico digitalizado")
    client.post(f"/seguimiento/{institution.id}/item/{item.id}/quitar")
    client.post(f"/ticket/{request.id}/transition", data={"name": "aprobar"})
    assert Ticket.get_by_id(request.id).state == "aprobado"
    assert next_step(request, "parametrizacion-produccion").requester_id == rollout.aiq.id


def test_an_oficio_not_yet_accepted_is_an_institution_at_the_request_stage(client, auth):
    agq = auth.login("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud MINTUR", oficio_fields())
    Ticket.update(created_at=now() - dt.timedelta(days=4)).where(
        Ticket.id == solicitud.id
    ).execute()
    stats.rebuild()  # tickets written behind the services' back
    (row,) = [r for r in services.rollout_pipeline(agq) if r["sigla"] == "MINTUR"]
    assert (row["institution"], row["request"].id) == (None, solicitud.id)
    assert (row["stage"], row["days_in_stage"]) == ("solicitud", 4)
    assert row["name"] == "Ministerio de Turismo Comunitario"
    page = client.get("/implantacion/").get_data(as_text=True)
    html = re.search(r'<tr data-testid="pipeline-row-MINTUR".*?</tr>', page, re.S)[0]
    assert f'href="/ticket/{solicitud.id}/"' in html and "Oficio por aceptar" in html
    assert 'data-testid="days-in-stage">4<' in html

    services.transition(agq, solicitud.id, "aceptar")  # now a real institution, one row
    rows = [r for r in services.rollout_pipeline(agq) if r["sigla"] == "MINTUR"]
    assert [(r["request"], r["stage"]) for r in rows] == [(None, "capacitacion")]
    assert rows[0]["reached"]["solicitud"] == Ticket.get_by_id(solicitud.id).created_at

    other = services.open_ticket(
        agq, "solicitud-uso", "Otra", oficio_fields(sigla="otra", ruc="1768000110001")
    )
    assert "OTRA" in {r["sigla"] for r in services.rollout_pipeline(agq)}
    services.transition(agq, other.id, "rechazar", comment="Sin firma de la máxima autoridad.")
    assert "OTRA" not in {r["sigla"] for r in services.rollout_pipeline(agq)}
