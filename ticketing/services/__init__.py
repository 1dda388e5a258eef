"""Every change to a ticket, as one function taking the acting user.

Each checks visibility and permission, applies guards, writes the change, its history row
and its outbox rows in one transaction, and raises a named `DomainError` on refusal.
Views, admin, API and the mail gate only call these; they import them from here.

Where each concept lives:
    common       the system actor, lookups, who works a ticket, history, optimistic save
    notify       who is told what: recipients, the mail's context, queuing the mail
    attachments  files kept with a ticket
    tickets      openable types, opening, editing, assigning, commenting
    checklist    ticking checklist items, with evidence and dates
    workflow     the engine: available transitions, taking one
    guards       guard kinds (registry): why a transition is refused
    effects      effect kinds (registry): what a transition does besides changing state
    rollout      institutions, stages, the pipeline, an institution's overview
    tracking     the plantilla de seguimiento (per institution and the default)
    people       users and invitations
    inbox        the bell: a person's notices, marking them read, mail preferences
    knowledge    knowledge-base articles, their votes, suggestions and deflections
    replies      canned replies: writing them, filling one from a ticket
    bulk         one change to several tickets of a queue, row by row
    calendars    the queues' business calendars: hours, time zone, declared days
"""

from ticketing.definitions import current_version
from ticketing.services.attachments import store_attachment
from ticketing.services.bulk import bulk_action
from ticketing.services.calendars import (
    calendar_of,
    declare_day,
    remove_day,
    set_calendar,
    work_calendar,
)
from ticketing.services.checklist import set_checklist_item
from ticketing.services.common import (
    SYSTEM,
    definition,
    is_agent,
    people_for,
    people_of,
    queue_for,
    role_allowed,
    sge,
)
from ticketing.services.inbox import (
    event_label,
    mark_all_read,
    mark_read,
    notices,
    open_notice,
    preferences,
    set_preferences,
    unread_count,
)
from ticketing.services.knowledge import (
    article_history,
    create_article,
    deflection_figures,
    deflection_token_ok,
    draft_from_ticket,
    editable_article,
    form_sent,
    may_write_articles,
    my_vote,
    read_suggestion,
    suggestions,
    update_article,
    visible_article,
    vote,
)
from ticketing.services.notify import recipients, ticket_context
from ticketing.services.people import create_user, send_invitation, update_user
from ticketing.services.replies import (
    create_reply,
    editable_reply,
    may_write_replies,
    offered_replies,
    replies_for,
    update_reply,
)
from ticketing.services.rollout import (
    create_institution,
    institution_overview,
    rollout_pipeline,
    set_stage,
    stage_refusal,
    update_institution,
)
from ticketing.services.tickets import (
    add_comment,
    assign,
    colleagues_who_answer,
    eligible_assignees,
    open_linked_ticket,
    open_ticket,
    openable_types,
    update_fields,
)
from ticketing.services.tracking import (
    add_default_tracking_item,
    add_tracking_item,
    remove_default_tracking_item,
    remove_tracking_item,
    set_tracking_item,
)
from ticketing.services.workflow import (
    answer_and_transition,
    available_transitions,
    reply_by_mail,
    transition,
)

__all__ = [
    "colleagues_who_answer",
    "update_institution",
    "work_calendar",
    "set_calendar",
    "remove_day",
    "declare_day",
    "calendar_of",
    "bulk_action",
    "update_reply",
    "replies_for",
    "offered_replies",
    "may_write_replies",
    "editable_reply",
    "create_reply",
    "answer_and_transition",
    "SYSTEM",
    "add_comment",
    "add_default_tracking_item",
    "add_tracking_item",
    "article_history",
    "assign",
    "available_transitions",
    "create_article",
    "create_institution",
    "create_user",
    "current_version",
    "definition",
    "deflection_figures",
    "deflection_token_ok",
    "draft_from_ticket",
    "editable_article",
    "eligible_assignees",
    "event_label",
    "form_sent",
    "institution_overview",
    "is_agent",
    "mark_all_read",
    "mark_read",
    "may_write_articles",
    "my_vote",
    "notices",
    "open_linked_ticket",
    "open_notice",
    "open_ticket",
    "openable_types",
    "people_for",
    "people_of",
    "preferences",
    "queue_for",
    "read_suggestion",
    "recipients",
    "remove_default_tracking_item",
    "remove_tracking_item",
    "reply_by_mail",
    "role_allowed",
    "rollout_pipeline",
    "send_invitation",
    "set_checklist_item",
    "set_preferences",
    "set_stage",
    "set_tracking_item",
    "sge",
    "stage_refusal",
    "store_attachment",
    "suggestions",
    "ticket_context",
    "transition",
    "unread_count",
    "update_article",
    "update_fields",
    "update_user",
    "visible_article",
    "vote",
]
