"""schemathesis fuzzes every operation of the OpenAPI description against the real app.

Generated requests (real token, real database, real services) must never get a server
error, every answer must match the description (status, content type, headers, body),
and input the description calls invalid must be refused. The run is bounded: FUZZ_N examples per operation and mode
(default 25, deterministic; FUZZ_RANDOM=1 for a fresh seed), so the suite stays fast.
"""

import copy
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import spec
from tests.conftest import make_ticket, user
from ticketing.models import Ticket

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_N", 25))
VALID_SUPPORT_FIELDS = {
    "categoria": "consulta",
    "modulo": "reportes",
    "descripcion": "No se generan los reportes.",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]


def _real_ids(app):
    """Ids that exist, so the fuzzer reaches past 404 into the services."""
    from ticketing import services

    focal = user("focal")
    opened = [make_ticket() for _ in range(3)]
    services.add_comment(focal, opened[0].id, "nota", internal=True)
    escalation = make_ticket(
        focal, "escalamiento-sge", fields={"modulo": "otro", "descripcion": "x"}
    )
    from ticketing.api_tokens import create_token

    throwaway = [create_token(focal, name=f"desechable {n}")[0].id for n in range(3)]
    return {
        "ticket_id": [t.id for t in opened] + [escalation.id],
        "institution_id": [focal.institution_id],
        "token_id": throwaway,
        "person_id": [focal.id, user("interno").id],
        "item_id": [1, 2],
        "item": ["reprodujo", "manual"],
        "type": ["soporte", "escalamiento-sge"],
        "name": ["atender", "resolver", "escalar", "reabrir"],
    }


def _steer(case, ids, pick, *, valid: bool):
    """Point a generated case at real tickets, items, types and transitions; when `valid`,
    also give a new support ticket a title and fields the services accept."""
    for name in ("ticket_id", "institution_id", "item", "token_id", "person_id", "item_id"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = pick(ids[name])
    if isinstance(case.body, dict):
        for name in ("type", "name"):
            if name in case.body:
                case.body[name] = pick(ids[name])
        if valid and "type" in case.body:
            case.body.update(type="soporte", title="Desde el fuzzer")
            case.body["fields"] = dict(VALID_SUPPORT_FIELDS)
        ticket_id = (case.path_parameters or {}).get("ticket_id")
        if "version" in case.body and ticket_id:
            case.body["version"] = Ticket.get_by_id(ticket_id).version
    return case


def _fuzz(operation, headers, ids, mode=GenerationMode.POSITIVE, examples=None) -> set[int]:
    """Run one operation's examples; the statuses it answered."""
    statuses: set[int] = set()
    checks = NEGATIVE_CHECKS if mode == GenerationMode.NEGATIVE else CHECKS

    @settings(
        max_examples=examples or EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        steer=st.sampled_from(["as generated", "at real ids", "at real ids, valid"]),
        data=st.data(),
    )
    def run(case, steer, data):
        if mode == GenerationMode.POSITIVE and steer != "as generated":
            pick = lambda items: data.draw(st.sampled_from(items))  # noqa: E731
            _steer(case, ids, pick, valid=steer.endswith("valid"))
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=checks, headers=headers)

    run()
    return statuses


def _operations(schema) -> dict:
    return {o.label: o for o in (result.ok() for result in schema.get_all_operations())}


def test_fuzz_every_operation(app, api):
    from ticketing.api_tokens import create_token

    for n in range(5):  # so the fuzzer's own token is not id 1, the id it tries first
        create_token(user("interno"), name=f"otro {n}")
    token = api.token("focal")
    ids = _real_ids(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = _operations(schema)
    # every documented operation but the description itself, which loading it exercised
    assert len(operations) == 32, list(operations)
    headers = {"Authorization": f"Bearer {token}"}
    seen = {}

    # revoking a token last: the fuzzer may well name its own token's id
    order = sorted(operations, key=lambda label: label == "DELETE /tokens/{token_id}")
    for label in order:
        operation = operations[label]
        seen[label] = _fuzz(operation, headers, ids)
        seen[label] |= _fuzz(operation, headers, ids, GenerationMode.NEGATIVE)

    # the fuzzer got past authentication and into the services on every operation
    assert all(statuses - {401} for statuses in seen.values()), seen
    assert {200, 201} & seen["POST /tickets/{ticket_id}/comments"], seen
    assert 200 in seen["GET /tickets/{ticket_id}"], seen
    assert 201 in seen["POST /tickets"], seen
    assert 422 in seen["POST /tickets"], seen
    assert 400 in seen["GET /tickets"], seen


# the operations only an AGQ (or an AIQ) gets past the permission check on
ADMINISTRATION = [
    "GET /people",
    "POST /people",
    "GET /people/{person_id}",
    "POST /people/{person_id}/invitation",
    "PATCH /institutions/{institution_id}",
    "GET /institutions/{institution_id}/tracking",
    "POST /institutions/{institution_id}/tracking",
    "PATCH /institutions/{institution_id}/tracking/{item_id}",
    "DELETE /institutions/{institution_id}/tracking/{item_id}",
    "POST /tracking-template",
    "DELETE /tracking-template/{item_id}",
    "PATCH /people/{person_id}",  # last: it may deactivate the fuzzer's own account
]


def test_fuzz_the_administration_as_the_agq(app, api):
    """The AGQ reaches past the refusals a focal user gets, into the services' validation."""
    from ticketing.models import TrackingItem

    ids = _real_ids(app)
    ids["person_id"] = [user("focal").id, user("interno_b").id]
    ids["item_id"] = [i.id for i in TrackingItem.select().limit(3)]
    headers = {"Authorization": f"Bearer {api.token('agq')}"}
    operations = _operations(schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app))
    seen = {}
    for label in ADMINISTRATION:
        seen[label] = _fuzz(operations[label], headers, ids, examples=15)
        seen[label] |= _fuzz(operations[label], headers, ids, GenerationMode.NEGATIVE, 15)
    # past authentication and permission, into the services, on every operation
    assert all(statuses - {401, 403} for statuses in seen.values()), seen
    assert 201 in seen["POST /institutions/{institution_id}/tracking"], seen


def test_the_fuzzer_catches_an_answer_the_description_does_not_allow(app, api):
    """Positive control: against a description that lies, the same harness fails."""
    headers = {"Authorization": f"Bearer {api.token('focal')}"}
    ids = _real_ids(app)
    lying = copy.deepcopy(spec())
    comment = lying["components"]["schemas"]["Comment"]
    comment["properties"]["mood"] = {"type": "string"}
    comment["required"] = [*comment["required"], "mood"]  # the API never sends it
    del lying["paths"]["/tickets"]["get"]["responses"]["400"]
    schema = schemathesis.openapi.from_dict(lying)
    schema.app = app
    operations = _operations(schema)

    with pytest.raises(FailureGroup) as caught:
        _fuzz(operations["POST /tickets/{ticket_id}/comments"], headers, ids, examples=30)
    assert caught.group_contains(Exception, match='"mood" is a required property')

    # and a query the description does not allow is answered 400, which it no longer lists
    case = operations["GET /tickets"].Case(query={"colour": "red"})
    response = case.call(headers=headers)
    assert response.status_code == 400
    with pytest.raises(FailureGroup) as caught:
        case.validate_response(response, checks=[status_code_conformance], headers=headers)
    assert caught.group_contains(Exception, match="400")


def test_every_documented_operation_needs_a_token(app, api):
    """Each operation the description lists, called without a live token, is a 401."""
    from ticketing.api_tokens import create_token, revoke_token

    ticket = make_ticket()
    row, revoked = create_token(user("focal"))
    revoke_token(user("focal"), row.id)
    values = {"ticket_id": ticket.id, "item": "reprodujo", "attachment_id": 1}
    values["institution_id"] = user("focal").institution_id
    values.update(person_id=user("focal").id, token_id=row.id, item_id=1)
    credentials = [None, "Bearer", "Bearer mesa_nada", f"Bearer {revoked}", f"Token {revoked}"]
    described = spec()["paths"]
    checked = 0
    for path, item in described.items():
        for method, operation in item.items():
            if method == "parameters" or operation.get("security") == []:
                continue
            url = path.format(**values)
            for credential in credentials:
                headers = {"Authorization": credential} if credential else {}
                response = api.call(method.upper(), url, key=None, headers=headers, json={})
                assert response.status_code == 401, (method, path, credential)
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="mesa"'
                assert set(response.get_json()) == {"error", "message", "fields"}
            checked += 1
    assert checked == 32
    assert api.get("/openapi.json", key=None).status_code == 200  # the one public operation
