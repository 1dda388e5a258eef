"""schemathesis fuzzes every operation of the OpenAPI description against the real app.

Generated requests (real token, real database, real services) must never get a server
error, and every answer must match the description: status, content type and body.
"""

import os
import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_ticket, user
from ticketing.models import Ticket

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_N", 60))
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


def _real_ids(app):
    """Ids that exist, so the fuzzer reaches past 404 into the services."""
    from ticketing import services

    focal = user("focal")
    opened = [make_ticket() for _ in range(3)]
    services.add_comment(focal, opened[0].id, "nota", internal=True)
    escalation = make_ticket(
        focal, "escalamiento-sge", fields={"modulo": "otro", "descripcion": "x"}
    )
    return {
        "ticket_id": [t.id for t in opened] + [escalation.id],
        "institution_id": [focal.institution_id],
        "item": ["reprodujo", "manual"],
        "type": ["soporte", "escalamiento-sge"],
        "name": ["atender", "resolver", "escalar", "reabrir"],
    }


def _steer(case, ids, pick):
    """Point some generated cases at real tickets, items, types and transitions."""
    for name in ("ticket_id", "institution_id", "item"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = pick(ids[name])
    if isinstance(case.body, dict):
        for name in ("type", "name"):
            if name in case.body:
                case.body[name] = pick(ids[name])
        if case.body.get("type") == "soporte" and pick([True, False]):
            case.body["fields"] = dict(VALID_SUPPORT_FIELDS)
        ticket_id = (case.path_parameters or {}).get("ticket_id")
        if "version" in case.body and ticket_id:
            case.body["version"] = Ticket.get_by_id(ticket_id).version
    return case


def _fuzz(operation, headers, ids, mode=GenerationMode.POSITIVE) -> set[int]:
    """Run one operation's examples; the statuses it answered."""
    statuses: set[int] = set()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), steer=st.booleans(), data=st.data())
    def run(case, steer, data):
        if steer:
            _steer(case, ids, lambda items: data.draw(st.sampled_from(items)))
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    return statuses


def test_fuzz_every_operation(app, api):
    token = api.token("focal")
    ids = _real_ids(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # every documented operation but the description itself, which loading it exercised
    assert len(operations) == 11, [o.label for o in operations]
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    seen = {}

    for operation in operations:
        seen[operation.label] = _fuzz(operation, headers, ids)
        _fuzz(operation, headers, ids, GenerationMode.NEGATIVE)

    print(seen)
    # the fuzzer got past authentication and into the services on every operation
    assert all(statuses for statuses in seen.values())
    assert {200, 201} & seen["POST /tickets/{ticket_id}/comments"], seen
    assert 200 in seen["GET /tickets/{ticket_id}"], seen
    assert time.monotonic() - started < 120
