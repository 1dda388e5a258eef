"""Every state change the UI offers has an API counterpart, or a reviewed reason not to.

Generated from the app's URL map: each rule outside /api/ that accepts POST, PUT, PATCH or
DELETE is one UI operation; a Flask-Admin list view's bulk-action route counts once per
action it offers ("<endpoint>:<action>"), and its scaffold routes (new, edit, delete,
inline edit) count only when the view turns them on. Each operation must be in API_TWIN
(the API rule that runs the same service function) or in EXCLUDED (one line: why not).
"""

import inspect

from flask_admin.model import BaseModelView

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

# UI endpoint -> (method, API rule) running the same service function
API_TWIN = {
    # tickets
    "new_ticket.form": ("POST", "/api/v1/tickets"),
    "institution.register": ("POST", "/api/v1/tickets"),  # `on_behalf_of`
    "ticket.edit": ("PATCH", "/api/v1/tickets/<int:ticket_id>"),
    "ticket.checklist": ("POST", "/api/v1/tickets/<int:ticket_id>/checklist/<item>"),
    "ticket.transition": ("POST", "/api/v1/tickets/<int:ticket_id>/transitions"),
    "ticket.assign": ("PUT", "/api/v1/tickets/<int:ticket_id>/assignee"),
    "ticket.comment": ("POST", "/api/v1/tickets/<int:ticket_id>/comments"),
    "tickets.bulk": ("POST", "/api/v1/tickets/bulk"),
    # the plantilla de seguimiento (step 6)
    "tracking.add_item": ("POST", "/api/v1/institutions/<int:institution_id>/tracking"),
    "tracking.set_item": (
        "PATCH",
        "/api/v1/institutions/<int:institution_id>/tracking/<int:item_id>",
    ),
    "tracking.remove_item": (
        "DELETE",
        "/api/v1/institutions/<int:institution_id>/tracking/<int:item_id>",
    ),
    "tracking.add_default": ("POST", "/api/v1/tracking-template"),
    "tracking.remove_default": ("DELETE", "/api/v1/tracking-template/<int:item_id>"),
    # people and institutions
    "users.create_view": ("POST", "/api/v1/people"),
    "users.edit_view": ("PATCH", "/api/v1/people/<int:person_id>"),
    "institutions.edit_view": ("PATCH", "/api/v1/institutions/<int:institution_id>"),
    # API tokens
    "api_tokens.create": ("POST", "/api/v1/tokens"),
    "api_tokens.revoke": ("DELETE", "/api/v1/tokens/<int:token_id>"),
}

# UI endpoint -> why it has no API counterpart (reviewed; keep each to one line)
EXCLUDED = {
    "auth.login": "signing in makes a browser session; the API authenticates by token",
    "auth.logout": "ends a browser session; a token is revoked with DELETE /tokens/<id>",
    "auth.second_factor": "second step of a browser sign-in",
    "auth.forgot_password": "password reset is mailed to a person, who acts in the browser",
    "auth.set_password": "the link from an invitation or reset mail, used in the browser",
    "auth.change_password": "a password is a browser credential; tokens never change it",
    "auth.mfa_policy": "second-factor policy: an account-security setting kept off the API",
    "auth.mfa_begin": "enrolling a second factor needs the person and their device",
    "auth.mfa_confirm": "enrolling a second factor needs the person and their device",
    "auth.mfa_disable": "turning the second factor off must not be scriptable by a token",
    "auth.mfa_new_codes": "recovery codes are shown to the person, never to a script",
    "auth.end_other_sessions": "browser sessions; tokens are listed and revoked via /tokens",
    "auth.set_locale": "the interface language of the browser session",
    "inbox.read_all": "marks the bell's notices read: a browser reading aid",
    "inbox.preferences": "a person's mail preferences for the bell, set by that person",
    "knowledge.create": "knowledge-base authoring is editorial work in the UI (not issue 17)",
    "knowledge.edit": "knowledge-base authoring is editorial work in the UI (not issue 17)",
    "knowledge.read": "records that a reader opened a suggested article (deflection figures)",
    "knowledge.vote": "a reader's 'was this useful' vote on an article page",
    "designer.create": "ticket types are designed in the UI; the process travels as a seed",
    "designer.edit": "designer drafts; the process travels as a seed (flask process export)",
    "designer.preview": "renders a draft form in the browser; changes nothing",
    "designer.process": "process import in the designer; the CLI does the same from a file",
    "mail_templates.create_view": "mail templates are SGE's wording, edited in the UI",
    "mail_templates.edit_view": "mail templates are SGE's wording, edited in the UI",
    "mail_templates.delete_view": "mail templates are SGE's wording, edited in the UI",
    "mail_templates.preview_view": "renders a template in the browser; changes nothing",
    "outbox.action_view:resend": "operating mail delivery is an operator's task in the UI",
    # webhooks: a token must not be able to point SGE's events (and their signing secret)
    # at another receiver; registering and re-sending stay with the signed-in AGQ
    "webhooks.create_view": "a token must not redirect SGE's signed events: AGQ in the UI",
    "webhooks.edit_view": "a token must not redirect SGE's signed events: AGQ in the UI",
    "webhooks.rotate_view": "the signing secret is shown to the AGQ only, never to a script",
    "webhook_deliveries.send_again_view": "re-sending deliveries is an operator's task in the UI",
    "webhook_deliveries.action_view:send_again": "re-sending deliveries: an operator's task",
}

# UI operations whose API twin is still owed (issue 17 stays open until this is empty)
TO_BUILD = {
    "replies.create": "POST /replies",
    "replies.edit": "PATCH /replies/<id>",
    "calendars.calendar": "PUT /queues/<id>/calendar",
    "calendars.declare": "POST /queues/<id>/calendar/days",
    "calendars.remove": "DELETE /queues/<id>/calendar/days/<id>",
}


def _admin_views(app) -> dict:
    views = {}
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            views[view.endpoint] = view
    return views


def _flag_on(view, name: str) -> bool:
    """Whether a scaffold capability may be on: a plain False class attribute turns it off;
    a property (decided per user) counts as on."""
    value = inspect.getattr_static(type(view), name, None)
    if isinstance(value, property):
        return True
    return bool(getattr(view, name, False))


SCAFFOLD = {
    "create_view": "can_create",
    "edit_view": "can_edit",
    "delete_view": "can_delete",
}


def ui_operations(app) -> dict[str, str]:
    """Each mutating UI operation -> the rule it is served at."""
    views = _admin_views(app)
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or not (rule.methods or set()) & MUTATING:
            continue
        prefix, _sep, name = rule.endpoint.partition(".")
        view = views.get(prefix)
        if isinstance(view, BaseModelView):
            if name in SCAFFOLD and not _flag_on(view, SCAFFOLD[name]):
                continue
            if name == "ajax_update" and not view.column_editable_list:
                continue
            if name == "action_view":
                for action, _text in view._actions:
                    if view.is_action_allowed(action):
                        found[f"{rule.endpoint}:{action}"] = rule.rule
                continue
        found[rule.endpoint] = rule.rule
    return found


def _api_rules(app) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            rules.setdefault(rule.rule, set()).update(rule.methods or ())
    return rules


def test_every_mutating_ui_route_has_an_api_twin_or_a_reason(app):
    operations = ui_operations(app)
    known = {*API_TWIN, *EXCLUDED, *TO_BUILD}
    missing = sorted(op for op in operations if op not in known)
    advice = "\n".join(
        f'    "{op}": ("POST", "/api/v1/..."),  # in API_TWIN, or in EXCLUDED: "{op}": "why",'
        f"  ({operations[op]})"
        for op in missing
    )
    assert not missing, (
        "mutating UI routes with no API counterpart; add each to API_TWIN (method, API rule "
        f"running the same service) or to EXCLUDED (a one-line reason) in {__file__}:\n{advice}"
    )


def test_every_api_twin_names_an_api_operation_that_exists(app):
    rules = _api_rules(app)
    wrong = {
        endpoint: twin
        for endpoint, twin in API_TWIN.items()
        if twin[0] not in rules.get(twin[1], set())
    }
    assert not wrong, f"API_TWIN names API rules (method, rule) the app does not serve: {wrong}"


def test_every_api_twin_is_described_in_openapi(app):
    from api.openapi import spec

    paths = spec()["paths"]
    for method, rule in set(API_TWIN.values()):
        path = rule.removeprefix("/api/v1")
        for converter in ("<int:", "<"):
            path = path.replace(converter, "{")
        path = path.replace(">", "}")
        assert method.lower() in paths.get(path, {}), (method, path)


def test_the_lists_name_only_live_ui_operations(app):
    """An entry for a route that is gone (or a scaffold turned off) is stale: remove it."""
    operations = ui_operations(app)
    stale = sorted(op for op in [*API_TWIN, *EXCLUDED, *TO_BUILD] if op not in operations)
    assert not stale, f"remove from API_TWIN / EXCLUDED, no such mutating UI route: {stale}"


def test_the_generator_sees_what_it_should(app):
    """Positive control: the scaffold rule and the action split are not hiding routes."""
    operations = ui_operations(app)
    assert "tickets.create_view" not in operations  # the queue cannot create (can_create False)
    assert "users.create_view" in operations  # decided per user: counted
    assert "outbox.action_view:resend" in operations
    assert "ticket.comment" in operations and "/api/v1/tickets" not in operations.values()
