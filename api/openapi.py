"""The OpenAPI 3.0 description of /api/v1, written by hand next to the code it describes.

The test suite fuzzes the API against this description (tests/api/test_fuzz.py), so an
endpoint that answers something not written here fails the build.
"""

ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
VERSION = {"type": "integer", "minimum": 0, "maximum": 2147483647}
TEXT = {"type": "string"}
STAMP = {"type": "string", "format": "date-time"}
ANY = {}  # any JSON value, null included


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _object(properties: dict, required=None, *, closed=False) -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


PERSON = _object({"id": ID, "name": TEXT})
TYPE_FIELD = _object(
    {
        "name": TEXT,
        "kind": {
            "type": "string",
            "description": "text, textarea, integer, decimal, date (YYYY-MM-DD), datetime "
            "(YYYY-MM-DDTHH:MM), email, phone (Ecuador), cedula, ruc, choice, multichoice, "
            "boolean, check, person (a person id from `choices`), file (multipart only)",
        },
        "label": TEXT,
        "label_en": TEXT,
        "help_text": TEXT,
        "required": {"type": "boolean"},
        "choices": {"type": "array", "items": _object({"value": TEXT, "label": TEXT})},
        "multiple": {"type": "boolean", "description": "the value is a list"},
    }
)
SUMMARY = {
    "id": ID,
    "reference": TEXT,
    "title": TEXT,
    "type": {"type": "string", "description": "the type's slug"},
    "type_name": TEXT,
    "state": {"type": "string", "description": "state key of the ticket's type"},
    "state_label": TEXT,
    "state_category": {"type": "string", "enum": ["open", "waiting", "done", "rejected"]},
    "queue_level": {"type": "integer", "enum": [1, 2]},
    "institution": _object({"id": ID, "sigla": TEXT}),
    "requester": PERSON,
    "assignee": _nullable(PERSON),
    "due_at": _nullable(STAMP),
    "created_at": STAMP,
    "updated_at": STAMP,
    "closed_at": _nullable(STAMP),
    "version": {
        "type": "integer",
        "description": "send it back with changes; a changed ticket answers 409",
    },
}
ATTACHMENT = _object(
    {
        "id": ID,
        "filename": TEXT,
        "content_type": TEXT,
        "size": {"type": "integer"},
        "internal": {"type": "boolean"},
        "field": _nullable(TEXT),
        "checklist_item": _nullable(TEXT),
        "comment_id": _nullable(ID),
        "created_at": STAMP,
    }
)
COMMENT = _object(
    {
        "id": ID,
        "author": _nullable(PERSON),
        "body": TEXT,
        "internal": {"type": "boolean", "description": "an internal note (support staff only)"},
        "source": {"type": "string", "enum": ["web", "mail", "api"]},
        "created_at": STAMP,
        "attachments": {"type": "array", "items": _ref("Attachment")},
    }
)
CHECKLIST_ITEM = _object(
    {
        "key": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "required": {"type": "boolean"},
        "evidence": {"type": "string", "enum": ["none", "comment", "attachment"]},
        "schedulable": {"type": "boolean"},
        "hours": _nullable({"type": "integer"}),
        "done": {"type": "boolean"},
        "by": _nullable(PERSON),
        "at": _nullable(STAMP),
        "comment": TEXT,
        "scheduled_at": _nullable(TEXT),
        "attachment_id": _nullable(ID),
    }
)
TRANSITION = _object(
    {
        "name": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "to": TEXT,
        "allowed": {"type": "boolean", "description": "whether the caller may take it now"},
        "reason": _nullable({"type": "string", "description": "why not, when not allowed"}),
        "needs_comment": {"type": "boolean"},
    }
)
EVENT = _object(
    {
        "id": ID,
        "at": STAMP,
        "kind": TEXT,
        "actor": _nullable(PERSON),
        "data": {"type": "object"},
    }
)
DETAIL = _object(
    {
        **SUMMARY,
        "type_version": {"type": "integer"},
        "fields": {
            "type": "object",
            "additionalProperties": ANY,
            "description": "value of each field by name; a file field holds "
            "{attachment_id, filename, size}",
        },
        "field_defs": {"type": "array", "items": _ref("FieldDef")},
        "checklist": {"type": "array", "items": _ref("ChecklistItem")},
        "transitions": {"type": "array", "items": _ref("Transition")},
        "comments": {"type": "array", "items": _ref("Comment")},
        "attachments": {"type": "array", "items": _ref("Attachment")},
        "history": {"type": "array", "items": _ref("Event")},
        "linked": {
            "type": "array",
            "items": _object(
                {
                    "id": ID,
                    "reference": TEXT,
                    "title": TEXT,
                    "relation": {"type": "string", "enum": ["parent", "child"]},
                }
            ),
        },
    }
)
INSTITUTION = _object(
    {
        "id": ID,
        "name": TEXT,
        "sigla": TEXT,
        "ruc": TEXT,
        "phone": TEXT,
        "address": TEXT,
        "is_sge": {"type": "boolean"},
        "stage": {
            "type": "string",
            "enum": [
                "solicitud",
                "capacitacion",
                "ambiente_capacitacion",
                "paso_produccion",
                "produccion",
            ],
        },
        "stage_label": TEXT,
        "stage_since": STAMP,
        "created_at": STAMP,
        "stage_history": {
            "type": "array",
            "items": _object({"stage": TEXT, "label": TEXT, "reached_at": STAMP}),
        },
    }
)
PERSON_DETAIL = _object(
    {
        "id": ID,
        "full_name": TEXT,
        "cedula": TEXT,
        "email": TEXT,
        "role": {"type": "string", "enum": ["interno", "focal", "aiq", "agq"]},
        "institution": _object({"id": ID, "sigla": TEXT}),
        "cargo": TEXT,
        "phone": TEXT,
        "mobile": TEXT,
        "active": {"type": "boolean"},
        "locale": TEXT,
        "created_at": STAMP,
    }
)
INSTITUTION_SUMMARY = _object(
    {
        "id": ID,
        "name": TEXT,
        "sigla": TEXT,
        "stage": INSTITUTION["properties"]["stage"],
        "stage_since": STAMP,
    }
)
TRACKING_ITEM = _object(
    {
        "id": ID,
        "label": TEXT,
        "label_en": TEXT,
        "order": {"type": "integer"},
        "met": {"type": "boolean"},
        "met_by": _nullable({**ID, "description": "the AGQ who marked it met"}),
        "met_at": _nullable(STAMP),
        "note": TEXT,
    }
)
DEFAULT_TRACKING_ITEM = _object(
    {"id": ID, "label": TEXT, "label_en": TEXT, "order": {"type": "integer"}}
)
TOKEN = _object(
    {
        "id": ID,
        "name": TEXT,
        "created_at": STAMP,
        "last_used_at": _nullable(STAMP),
        "revoked_at": _nullable(STAMP),
        "secret": _nullable(
            {
                "type": "string",
                "description": "only in the answer that made the token (never in a replay "
                "of it: the database keeps only its hash)",
            }
        ),
    }
)
TICKET_TYPE = _object(
    {
        "slug": TEXT,
        "name": TEXT,
        "name_en": TEXT,
        "description": TEXT,
        "category": TEXT,
        "queue_level": {"type": "integer", "enum": [1, 2]},
        "deadline_days": _nullable({"type": "integer"}),
        "version": {"type": "integer"},
        "fields": {"type": "array", "items": _ref("FieldDef")},
    }
)
ERROR = _object(
    {
        "error": {
            "type": "string",
            "description": "stable code: bad_request, unauthorized, forbidden, not_found, "
            "method_not_allowed, conflict, stale_version, guard_failed, too_large, invalid, "
            "precondition_failed, idempotency_key_reused",
        },
        "message": {"type": "string", "description": "for people, in the caller's language"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "a message per offending field or property",
        },
    },
    closed=True,
)

FIELDS_OBJECT = {
    "type": "object",
    "additionalProperties": ANY,
    "description": "values by field name, as `GET /ticket-types` describes them",
}
BINARY = {"type": "string", "format": "binary"}
FLAG = {"type": "string", "enum": ["true", "false"]}

ERRORS = {
    "400": "The body or the query is malformed (not JSON, wrong JSON type, unknown property).",
    "401": "No token, an unknown or revoked token, or its owner's account is inactive.",
    "403": "The ticket is visible to the caller, who may not do this to it.",
    "404": "Absent, or not visible to the caller: the same answer for both.",
    "409": "The ticket changed since `version` was read, a transition's guard does not "
    "hold, or the transition is no longer available.",
    "413": "The request or a file is larger than allowed.",
    "412": "`If-Match` names a version the ticket is no longer at (`precondition_failed`).",
    "422": "Invalid values: `fields` has a message per offending field; or the "
    "`Idempotency-Key` was used with another request (`idempotency_key_reused`).",
}


def _error_response(code: str, text: str) -> dict:
    response = {"description": text, "content": _json(_ref("Error"))}
    if code == "401":
        response["headers"] = {
            "WWW-Authenticate": {
                "description": 'always `Bearer realm="mesa"`',
                "required": True,
                "schema": {"type": "string"},
            }
        }
    return response


def _errors(*codes: int) -> dict:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema: dict, status="200") -> dict:
    return {status: {"description": description, "content": _json(schema)}}


def _body(json_schema: dict, multipart_schema: dict | None = None) -> dict:
    content = _json(json_schema)
    if multipart_schema is not None:
        content["multipart/form-data"] = {"schema": multipart_schema}
    return {"required": True, "content": content}


def _ticket_param() -> dict:
    return {"name": "ticket_id", "in": "path", "required": True, "schema": ID}


CHANGE_ERRORS = (400, 401, 403, 404, 409, 413, 422)
TICKET_CHANGE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 422)

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "any unique text (a UUID): sent again with the same request within "
    "IDEMPOTENCY_KEY_HOURS, the first answer is replayed (header `Idempotent-Replayed: "
    "true`) and nothing runs twice; with another request it is a 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": 'the `ETag` read (`W/"<version>"`): a ticket changed since is a 412 and '
    "nothing changes; optional (`version` in the body does the same with a 409)",
    "schema": {"type": "string", "pattern": '^(W/)?"[0-9]{1,9}"$'},
}
ETAG_HEADER = {
    "ETag": {
        "description": 'weak: `W/"<version>"`; comments do not change it, every field, '
        "checklist, state or assignment change does",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _ticket_ok(description: str, status="200") -> dict:
    response = _ok(description, _ref("TicketDetail"), status)
    response[status]["headers"] = ETAG_HEADER
    return response


def _created(description: str, schema: dict) -> dict:
    return {
        "201": {"description": description, "content": _json(schema)},
    }


def _items(schema: dict, **more) -> dict:
    return _object({"items": {"type": "array", "items": schema}, **more})


def _id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


NO_CONTENT = {"204": {"description": "Done"}}


SEARCH_RESULTS = _object(
    {
        "total": {"type": "integer"},
        "total_capped": {"type": "boolean", "description": "more than `total` were found"},
        "page": {"type": "integer"},
        "next_page": _nullable({"type": "integer"}),
        "tickets": {
            "type": "array",
            "items": {
                "allOf": [
                    _ref("TicketSummary"),
                    _object({"snippet": TEXT, "rank": {"type": "number"}}),
                ]
            },
        },
        "articles": {
            "type": "array",
            "items": _object(
                {
                    "id": ID,
                    "title": TEXT,
                    "category": TEXT,
                    "language": TEXT,
                    "snippet": TEXT,
                    "url": TEXT,
                }
            ),
        },
    }
)


def _paths() -> dict:
    detail = _ref("TicketDetail")
    return {
        "/ticket-types": {
            "get": {
                "operationId": "listTicketTypes",
                "summary": "Types the caller may open, with the fields of each",
                "responses": {
                    **_ok("Types", _object({"items": {"type": "array", "items": TICKET_TYPE}})),
                    **_errors(400, 401),
                },
            }
        },
        "/tickets": {
            "get": {
                "operationId": "listTickets",
                "summary": "Visible tickets, oldest change first, a page at a time",
                "description": "Ordered by (updated_at, id) ascending, paged by key, not by "
                "offset: following `next_cursor` skips and repeats nothing when tickets are "
                "added or changed meanwhile; those come after the cursor (a changed one again, "
                "with its new `version`). `updated_at` has one-second resolution: to poll, "
                "pass the last `updated_at` seen as `updated_since` (inclusive) and skip "
                "(id, version) pairs already seen. A page costs the same queries at any size.",
                "parameters": [
                    {
                        "name": "queue",
                        "in": "query",
                        "description": "queue level: 1 = the institution's help desk, 2 = SGE",
                        "schema": {"type": "integer", "enum": [1, 2]},
                    },
                    {
                        "name": "state",
                        "in": "query",
                        "description": "state key, e.g. `nuevo`",
                        "schema": TEXT,
                    },
                    {
                        "name": "type",
                        "in": "query",
                        "description": "ticket type slug",
                        "schema": TEXT,
                    },
                    {
                        "name": "institution",
                        "in": "query",
                        "description": "institution id",
                        "schema": ID,
                    },
                    {
                        "name": "updated_since",
                        "in": "query",
                        "description": "only tickets changed at or after this moment: an "
                        "ISO 8601 date or date-time, e.g. `2025-01-31T12:00:00Z`; without an "
                        "offset it is UTC",
                        "schema": TEXT,
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "description": "only tickets whose text matches, as in `/search` "
                        "(the order stays by change, not by relevance)",
                        "schema": TEXT,
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "`next_cursor` of the previous page",
                        "schema": TEXT,
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                    },
                ],
                "responses": {
                    **_ok(
                        "A page of tickets",
                        _object(
                            {
                                "items": {"type": "array", "items": _ref("TicketSummary")},
                                "next_cursor": _nullable(
                                    {"type": "string", "description": "null on the last page"}
                                ),
                            }
                        ),
                    ),
                    **_errors(400, 401),
                },
            },
            "post": {
                "operationId": "openTicket",
                "summary": "Open a ticket of a type the caller may open",
                "description": "As JSON, or as multipart/form-data with `type`, `title`, "
                "`fields` (a JSON object as text) and one file part per file field, named "
                "after the field.",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(
                    _object(
                        {
                            "type": TEXT,
                            "title": TEXT,
                            "fields": FIELDS_OBJECT,
                            "on_behalf_of": {
                                **ID,
                                "description": "AGQ only: register it for this person "
                                "(a request that reached SGE by mail or on paper)",
                            },
                        },
                        ["type", "title"],
                        closed=True,
                    ),
                    {
                        "type": "object",
                        "properties": {
                            "type": TEXT,
                            "title": TEXT,
                            "fields": TEXT,
                            "on_behalf_of": ID,
                        },
                        "required": ["type", "title"],
                        "additionalProperties": BINARY,
                    },
                ),
                "responses": {
                    **_ok("The new ticket", detail, "201"),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/search": {
            "get": {
                "operationId": "search",
                "summary": "Search every visible ticket and knowledge-base article",
                "description": "Spanish-aware full-text search: accents and case are ignored, "
                'words are stemmed (`firmar` finds `firmando`), `"a phrase"` must occur as '
                "written, `-word` excludes; `MESA-12` finds that ticket. Tickets come best "
                "match first, 20 a page, with an HTML snippet whose matches are in `<mark>` "
                "(everything else escaped); `total` stops counting at 1000 "
                "(`total_capped`). Internal notes are searched only for support staff.",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": TEXT},
                    {"name": "type", "in": "query", "description": "type slug", "schema": TEXT},
                    {"name": "state", "in": "query", "description": "state key", "schema": TEXT},
                    {
                        "name": "institution",
                        "in": "query",
                        "description": "institution id (the AGQ's filter)",
                        "schema": ID,
                    },
                    {"name": "requester", "in": "query", "schema": ID},
                    {
                        "name": "desde",
                        "in": "query",
                        "description": "opened on or after (YYYY-MM-DD)",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "hasta",
                        "in": "query",
                        "description": "opened on or before (YYYY-MM-DD)",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
                "responses": {
                    **_ok("What was found", _ref("SearchResults")),
                    **_errors(400, 401),
                },
            }
        },
        "/tickets/{ticket_id}": {
            "parameters": [_ticket_param()],
            "get": {
                "operationId": "getTicket",
                "summary": "One ticket: fields, checklist, transitions, comments, history",
                "responses": {**_ticket_ok("The ticket"), **_errors(400, 401, 404)},
            },
            "patch": {
                "operationId": "updateTicket",
                "summary": "Change field values (and the title), with the version read",
                "description": "Only the fields sent change, in one transaction with one "
                "history row per field; `null` empties a field. Send the version read as "
                "`version` or as `If-Match` (one of them is required). "
                "Multipart: `version`, `title`, `fields` (JSON text) and file parts.",
                "parameters": [IF_MATCH],
                "requestBody": _body(
                    _object(
                        {"fields": FIELDS_OBJECT, "title": TEXT, "version": VERSION},
                        [],
                        closed=True,
                    ),
                    {
                        "type": "object",
                        "properties": {"fields": TEXT, "title": TEXT, "version": VERSION},
                        "additionalProperties": BINARY,
                    },
                ),
                "responses": {**_ticket_ok("The ticket"), **_errors(*TICKET_CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/checklist/{item}": {
            "parameters": [
                _ticket_param(),
                {"name": "item", "in": "path", "required": True, "schema": TEXT},
            ],
            "post": {
                "operationId": "setChecklistItem",
                "summary": "Tick or untick a checklist item, with its evidence or date",
                "description": "Evidence files go as multipart with the part `attachment`.",
                "parameters": [IDEMPOTENCY_KEY, IF_MATCH],
                "requestBody": _body(
                    _object(
                        {
                            "done": {"type": "boolean"},
                            "comment": TEXT,
                            "scheduled_at": {
                                "type": "string",
                                "description": "for schedulable items: YYYY-MM-DDTHH:MM",
                            },
                        },
                        ["done"],
                        closed=True,
                    ),
                    _object(
                        {
                            "done": FLAG,
                            "comment": TEXT,
                            "scheduled_at": TEXT,
                            "attachment": BINARY,
                        },
                        ["done"],
                        closed=True,
                    ),
                ),
                "responses": {**_ticket_ok("The ticket"), **_errors(*TICKET_CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/transitions": {
            "parameters": [_ticket_param()],
            "post": {
                "operationId": "takeTransition",
                "summary": "Take a transition listed in the ticket's `transitions`",
                "parameters": [IDEMPOTENCY_KEY, IF_MATCH],
                "requestBody": _body(
                    _object(
                        {"name": TEXT, "comment": TEXT, "version": VERSION},
                        ["name"],
                        closed=True,
                    )
                ),
                "responses": {**_ticket_ok("The ticket"), **_errors(*TICKET_CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/assignee": {
            "parameters": [_ticket_param()],
            "put": {
                "operationId": "assignTicket",
                "summary": "Give the ticket to an agent of its queue (null: to nobody)",
                "parameters": [IF_MATCH],
                "requestBody": _body(
                    _object(
                        {"assignee": _nullable(VERSION), "version": VERSION},
                        ["assignee"],
                        closed=True,
                    )
                ),
                "responses": {**_ticket_ok("The ticket"), **_errors(*TICKET_CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/comments": {
            "parameters": [_ticket_param()],
            "post": {
                "operationId": "addComment",
                "summary": "A comment, or an internal note, with optional files",
                "description": "Files go as multipart, each in a part named `files`.",
                "parameters": [IDEMPOTENCY_KEY, IF_MATCH],
                "requestBody": _body(
                    _object(
                        {"body": TEXT, "internal": {"type": "boolean"}, "then": TEXT},
                        [],
                        closed=True,
                    ),
                    _object(
                        {
                            "body": TEXT,
                            "internal": FLAG,
                            "then": TEXT,
                            "files": {"type": "array", "items": BINARY},
                        },
                        [],
                        closed=True,
                    ),
                ),
                "responses": {
                    **_ok("The comment", _ref("Comment"), "201"),
                    **_errors(*TICKET_CHANGE_ERRORS),
                },
            },
        },
        "/tickets/bulk": {
            "post": {
                "operationId": "bulkTickets",
                "summary": "The same action on several tickets; one result per row",
                "description": "A ticket the caller may not see: 404 and nothing is written.",
                "requestBody": _body(
                    _object(
                        {
                            "tickets": {"type": "array", "items": ID, "maxItems": 100},
                            "action": {
                                "type": "string",
                                "enum": ["asignarme", "asignar", "transicion"],
                            },
                            "assignee": _nullable(ID),
                            "transition": TEXT,
                            "comment": TEXT,
                        },
                        ["tickets", "action"],
                        closed=True,
                    )
                ),
                "responses": {
                    **_ok(
                        "One result per ticket",
                        _items(
                            _object(
                                {
                                    "id": ID,
                                    "reference": TEXT,
                                    "done": {"type": "boolean"},
                                    "refusal": _nullable(TEXT),
                                }
                            )
                        ),
                    ),
                    **_errors(400, 401, 404, 422),
                },
            },
        },
        "/tickets/{ticket_id}/attachments/{attachment_id}": {
            "parameters": [
                _ticket_param(),
                {"name": "attachment_id", "in": "path", "required": True, "schema": ID},
            ],
            "get": {
                "operationId": "getAttachment",
                "summary": "Download an attachment the caller may see",
                "responses": {
                    "200": {"description": "The file", "content": {"*/*": {"schema": BINARY}}},
                    **_errors(400, 401, 404),
                },
            },
        },
        "/tickets/{ticket_id}/checklist": {
            "parameters": [_ticket_param()],
            "post": {
                "operationId": "setChecklistItems",
                "summary": "Several checklist changes in one call: all or none",
                "description": "One transaction, one history row per change, one mail per "
                "person: scheduling the three courses of the AIQ's training in one call "
                "mails the AIQ one 'Fechas de sus cursos' with the whole schedule.",
                "parameters": [IDEMPOTENCY_KEY, IF_MATCH],
                "requestBody": _body(
                    _object(
                        {
                            "items": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": _object(
                                    {
                                        "item": {"type": "string", "description": "its key"},
                                        "done": {"type": "boolean"},
                                        "comment": TEXT,
                                        "scheduled_at": {
                                            "type": "string",
                                            "description": "schedulable items: YYYY-MM-DDTHH:MM",
                                        },
                                    },
                                    ["item", "done"],
                                    closed=True,
                                ),
                            },
                            "version": VERSION,
                        },
                        ["items"],
                        closed=True,
                    )
                ),
                "responses": {**_ticket_ok("The ticket"), **_errors(*TICKET_CHANGE_ERRORS)},
            },
        },
        "/me": {
            "get": {
                "operationId": "getMe",
                "summary": "The token's owner",
                "responses": {**_ok("The caller", _ref("Person")), **_errors(400, 401)},
            }
        },
        "/people": {
            "get": {
                "operationId": "listPeople",
                "summary": "People the caller may see, by id, a page at a time",
                "description": "The AGQ sees everyone; AIQ and focal users their "
                "institution's people; an internal user only themself.",
                "parameters": [
                    {
                        "name": "role",
                        "in": "query",
                        "schema": PERSON_DETAIL["properties"]["role"],
                    },
                    {"name": "institution", "in": "query", "schema": ID},
                    {"name": "active", "in": "query", "schema": FLAG},
                    {
                        "name": "after",
                        "in": "query",
                        "description": "`next_after` of the previous page",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                    },
                ],
                "responses": {
                    **_ok(
                        "A page of people",
                        _items(_ref("Person"), next_after=_nullable(ID)),
                    ),
                    **_errors(400, 401),
                },
            },
            "post": {
                "operationId": "createPerson",
                "summary": "Add a person, who is mailed a link to set a password",
                "description": "The AGQ anywhere (`institution` required but for SGE "
                "itself); the AIQ internal and focal users of its own institution.",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(
                    _object(
                        {
                            "full_name": TEXT,
                            "cedula": {**TEXT, "description": "10 digits, check digit"},
                            "email": TEXT,
                            "role": PERSON_DETAIL["properties"]["role"],
                            "institution": ID,
                            "cargo": TEXT,
                            "phone": TEXT,
                            "mobile": TEXT,
                        },
                        ["full_name", "cedula", "email", "role"],
                        closed=True,
                    )
                ),
                "responses": {
                    **_created("The new person", _ref("Person")),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/people/{person_id}": {
            "parameters": [_id_param("person_id")],
            "get": {
                "operationId": "getPerson",
                "summary": "A person the caller may see",
                "responses": {**_ok("The person", _ref("Person")), **_errors(400, 401, 404)},
            },
            "patch": {
                "operationId": "updatePerson",
                "summary": "Change a person's data, role, or deactivate them (`active`)",
                "description": "Only what is sent changes. A new role or a deactivation "
                "ends the person's sessions at once.",
                "requestBody": _body(
                    _object(
                        {
                            "full_name": TEXT,
                            "cedula": TEXT,
                            "email": TEXT,
                            "role": PERSON_DETAIL["properties"]["role"],
                            "cargo": TEXT,
                            "phone": TEXT,
                            "mobile": TEXT,
                            "active": {"type": "boolean"},
                        },
                        [],
                        closed=True,
                    )
                ),
                "responses": {**_ok("The person", _ref("Person")), **_errors(*CHANGE_ERRORS)},
            },
        },
        "/people/{person_id}/invitation": {
            "parameters": [_id_param("person_id")],
            "post": {
                "operationId": "invitePerson",
                "summary": "Mail again the link to set a password (no password set yet)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(_object({}, [], closed=True)),
                "responses": {
                    "202": {"description": "Mailed", "content": _json(_ref("Person"))},
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/tokens": {
            "get": {
                "operationId": "listTokens",
                "summary": "The caller's own API tokens, newest first (revoked included)",
                "responses": {**_ok("Tokens", _items(_ref("Token"))), **_errors(400, 401)},
            },
            "post": {
                "operationId": "createToken",
                "summary": "A new token for the caller; its secret is shown in this answer only",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(
                    _object({"name": {**TEXT, "maxLength": 100}}, [], closed=True)
                ),
                "responses": {
                    **_created("The new token", _ref("Token")),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/tokens/{token_id}": {
            "parameters": [_id_param("token_id")],
            "delete": {
                "operationId": "revokeToken",
                "summary": "Revoke one of the caller's tokens (again: no change)",
                "responses": {**_ok("The revoked token", _ref("Token")), **_errors(400, 401, 404)},
            },
        },
        "/institutions": {
            "get": {
                "operationId": "listInstitutions",
                "summary": "Institutions the caller may see (the AGQ: all)",
                "responses": {
                    **_ok("Institutions", _items(_ref("InstitutionSummary"))),
                    **_errors(400, 401),
                },
            }
        },
        "/institutions/{institution_id}/tracking": {
            "parameters": [_id_param("institution_id")],
            "get": {
                "operationId": "listTrackingItems",
                "summary": "The institution's plantilla de seguimiento (step 6's review)",
                "responses": {
                    **_ok("Items", _items(_ref("TrackingItem"))),
                    **_errors(400, 401, 404),
                },
            },
            "post": {
                "operationId": "addTrackingItem",
                "summary": "Add an item to the institution's plantilla (AGQ)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(_object({"label": TEXT}, closed=True)),
                "responses": {
                    **_created("The new item", _ref("TrackingItem")),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/institutions/{institution_id}/tracking/{item_id}": {
            "parameters": [_id_param("institution_id"), _id_param("item_id")],
            "patch": {
                "operationId": "setTrackingItem",
                "summary": "Mark an item met or unmet, with a note (AGQ)",
                "requestBody": _body(
                    _object({"met": {"type": "boolean"}, "note": TEXT}, ["met"], closed=True)
                ),
                "responses": {**_ok("The item", _ref("TrackingItem")), **_errors(*CHANGE_ERRORS)},
            },
            "delete": {
                "operationId": "removeTrackingItem",
                "summary": "Remove an item that does not apply to this institution (AGQ)",
                "responses": {**NO_CONTENT, **_errors(400, 401, 403, 404)},
            },
        },
        "/tracking-template": {
            "get": {
                "operationId": "listDefaultTrackingItems",
                "summary": "The default plantilla new institutions start from",
                "responses": {
                    **_ok("Items", _items(_ref("DefaultTrackingItem"))),
                    **_errors(400, 401),
                },
            },
            "post": {
                "operationId": "addDefaultTrackingItem",
                "summary": "Add an item to the default plantilla (AGQ)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(_object({"label": TEXT}, closed=True)),
                "responses": {
                    **_created("The new item", _ref("DefaultTrackingItem")),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/tracking-template/{item_id}": {
            "parameters": [_id_param("item_id")],
            "delete": {
                "operationId": "removeDefaultTrackingItem",
                "summary": "Remove an item from the default plantilla (institutions keep theirs)",
                "responses": {**NO_CONTENT, **_errors(400, 401, 403, 404)},
            },
        },
        "/institutions/{institution_id}": {
            "parameters": [
                {"name": "institution_id", "in": "path", "required": True, "schema": ID}
            ],
            "get": {
                "operationId": "getInstitution",
                "summary": "An institution's data and the date it reached each rollout stage",
                "responses": {
                    **_ok("The institution", _ref("Institution")),
                    **_errors(400, 401, 404),
                },
            },
            "patch": {
                "operationId": "updateInstitution",
                "summary": "Correct an institution's name, phone or address (AGQ)",
                "requestBody": _body(
                    _object(
                        {
                            "name": {**TEXT, "maxLength": 255},
                            "phone": {**TEXT, "maxLength": 64},
                            "address": {**TEXT, "maxLength": 255},
                        },
                        [],
                        closed=True,
                    )
                ),
                "responses": {
                    **_ok("The institution", _ref("Institution")),
                    **_errors(*CHANGE_ERRORS),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.0", "content": _json({})}},
            }
        },
    }


def spec() -> dict:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mesa API",
            "version": "1",
            "description": "Open and follow Mesa tickets without the browser. Send "
            "`Authorization: Bearer <token>` (made in the UI under Tokens de API, or with "
            "`flask --app wsgi tokens create EMAIL`); a token acts exactly as its owner. "
            'Every error is `{"error": code, "message": ..., "fields": {name: message}}`. '
            "Retry a POST safely with an `Idempotency-Key`; ticket reads send an `ETag` to "
            "return as `If-Match` on the ticket's writes.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "FieldDef": TYPE_FIELD,
                "TicketSummary": _object(SUMMARY),
                "TicketDetail": DETAIL,
                "ChecklistItem": CHECKLIST_ITEM,
                "Transition": TRANSITION,
                "Comment": COMMENT,
                "Attachment": ATTACHMENT,
                "Event": EVENT,
                "Institution": INSTITUTION,
                "InstitutionSummary": INSTITUTION_SUMMARY,
                "Person": PERSON_DETAIL,
                "Token": TOKEN,
                "TrackingItem": TRACKING_ITEM,
                "DefaultTrackingItem": DEFAULT_TRACKING_ITEM,
                "SearchResults": SEARCH_RESULTS,
            },
            "responses": {f"E{code}": _error_response(code, text) for code, text in ERRORS.items()},
        },
    }
