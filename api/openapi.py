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
            "method_not_allowed, conflict, stale_version, guard_failed, too_large, invalid",
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
    "422": "Invalid values: `fields` has a message per offending field.",
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
                "requestBody": _body(
                    _object(
                        {"type": TEXT, "title": TEXT, "fields": FIELDS_OBJECT},
                        ["type", "title"],
                        closed=True,
                    ),
                    {
                        "type": "object",
                        "properties": {"type": TEXT, "title": TEXT, "fields": TEXT},
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
                "responses": {**_ok("The ticket", detail), **_errors(400, 401, 404)},
            },
            "patch": {
                "operationId": "updateTicket",
                "summary": "Change field values (and the title), with the version read",
                "description": "Only the fields sent change; `null` empties a field. "
                "Multipart: `version`, `title`, `fields` (JSON text) and file parts.",
                "requestBody": _body(
                    _object(
                        {"fields": FIELDS_OBJECT, "title": TEXT, "version": VERSION},
                        ["version"],
                        closed=True,
                    ),
                    {
                        "type": "object",
                        "properties": {"fields": TEXT, "title": TEXT, "version": VERSION},
                        "required": ["version"],
                        "additionalProperties": BINARY,
                    },
                ),
                "responses": {**_ok("The ticket", detail), **_errors(*CHANGE_ERRORS)},
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
                "responses": {**_ok("The ticket", detail), **_errors(*CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/transitions": {
            "parameters": [_ticket_param()],
            "post": {
                "operationId": "takeTransition",
                "summary": "Take a transition listed in the ticket's `transitions`",
                "requestBody": _body(
                    _object(
                        {"name": TEXT, "comment": TEXT, "version": VERSION},
                        ["name"],
                        closed=True,
                    )
                ),
                "responses": {**_ok("The ticket", detail), **_errors(*CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/assignee": {
            "parameters": [_ticket_param()],
            "put": {
                "operationId": "assignTicket",
                "summary": "Give the ticket to an agent of its queue (null: to nobody)",
                "requestBody": _body(
                    _object(
                        {"assignee": _nullable(VERSION), "version": VERSION},
                        ["assignee"],
                        closed=True,
                    )
                ),
                "responses": {**_ok("The ticket", detail), **_errors(*CHANGE_ERRORS)},
            },
        },
        "/tickets/{ticket_id}/comments": {
            "parameters": [_ticket_param()],
            "post": {
                "operationId": "addComment",
                "summary": "A comment, or an internal note, with optional files",
                "description": "Files go as multipart, each in a part named `files`.",
                "requestBody": _body(
                    _object({"body": TEXT, "internal": {"type": "boolean"}}, [], closed=True),
                    _object(
                        {
                            "body": TEXT,
                            "internal": FLAG,
                            "files": {"type": "array", "items": BINARY},
                        },
                        [],
                        closed=True,
                    ),
                ),
                "responses": {
                    **_ok("The comment", _ref("Comment"), "201"),
                    **_errors(*CHANGE_ERRORS),
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
            'Every error is `{"error": code, "message": ..., "fields": {name: message}}`.',
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
                "SearchResults": SEARCH_RESULTS,
            },
            "responses": {f"E{code}": _error_response(code, text) for code, text in ERRORS.items()},
        },
    }
