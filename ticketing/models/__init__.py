"""Persistent model of Mesa: people, queues, ticket types (as data), tickets, outbox.

Where each part lives:
    base          roles, queue levels, state categories, stages, `now`, BaseModel
    people        institutions, stages reached, queues, users, sign-ins, policies, API tokens
    ticket_types  ticket types as data and their published versions
    tickets       tickets, history, comments, attachments
    rollout       the plantilla de seguimiento
    mail          notification templates, outbox, inbound mail
    knowledge     knowledge-base articles, their history, votes and deflections
    search        the documents full-text search reads
    inbox         in-app notices (the bell) and who wants which event by mail
    idempotency   the API's remembered Idempotency-Key answers
    replies       canned replies (respuestas predefinidas)
    calendars     business calendars of the queues: hours, days off, working days
    webhooks      SGE's webhook endpoints and each event's signed delivery to them
"""

from ticketing.models.base import (
    ACTIVE_CATEGORIES,
    AGENT_ROLES,
    AGQ,
    AIQ,
    DONE,
    FIRST_LEVEL,
    FOCAL,
    INTERNO,
    OPEN,
    REJECTED,
    ROLE_LABELS,
    ROLES,
    SECOND_LEVEL,
    STAGE_LABELS,
    STAGES,
    STATE_CATEGORIES,
    TYPE_CATEGORIES,
    WAITING,
    BaseModel,
    now,
)
from ticketing.models.calendars import BusinessCalendar, CalendarDay
from ticketing.models.idempotency import IdempotencyKey
from ticketing.models.inbox import Notice, NoticePreference
from ticketing.models.knowledge import (
    ARTICLE_STATUSES,
    DRAFT,
    LANGUAGES,
    PUBLISHED,
    Article,
    ArticleEvent,
    ArticleVote,
    Deflection,
)
from ticketing.models.mail import FAILED, PENDING, SENT, InboundMail, NotificationTemplate, Outbox
from ticketing.models.people import (
    ApiToken,
    Institution,
    Queue,
    RolePolicy,
    StageChange,
    User,
    UserSession,
)
from ticketing.models.replies import CannedReply
from ticketing.models.rollout import DefaultTrackingItem, TrackingItem
from ticketing.models.search import SearchDoc
from ticketing.models.stats import TicketCount, TicketWeek
from ticketing.models.ticket_types import (
    ChecklistItemDef,
    FieldDef,
    StateDef,
    TicketType,
    TicketTypeVersion,
    TransitionDef,
)
from ticketing.models.tickets import Attachment, Blob, Comment, Ticket, TicketEvent
from ticketing.models.webhooks import WebhookDelivery, WebhookEndpoint

# in dependency order: create_tables and the migrations rely on it
MODELS = [
    Institution,
    StageChange,
    User,
    UserSession,
    RolePolicy,
    ApiToken,
    Queue,
    TicketType,
    FieldDef,
    ChecklistItemDef,
    StateDef,
    TransitionDef,
    TicketTypeVersion,
    Ticket,
    TicketEvent,
    Comment,
    Blob,
    Attachment,
    TrackingItem,
    DefaultTrackingItem,
    NotificationTemplate,
    Outbox,
    InboundMail,
    TicketCount,
    TicketWeek,
    Article,
    ArticleEvent,
    ArticleVote,
    Deflection,
    SearchDoc,
    Notice,
    NoticePreference,
    CannedReply,
    WebhookEndpoint,
    WebhookDelivery,
    IdempotencyKey,
    BusinessCalendar,
    CalendarDay,
]

__all__ = [
    "BusinessCalendar",
    "CalendarDay",
    "IdempotencyKey",
    "CannedReply",
    "WebhookDelivery",
    "WebhookEndpoint",
    "ARTICLE_STATUSES",
    "Article",
    "ArticleEvent",
    "ArticleVote",
    "DRAFT",
    "Deflection",
    "LANGUAGES",
    "PUBLISHED",
    "SearchDoc",
    "Notice",
    "NoticePreference",
    "ACTIVE_CATEGORIES",
    "AGENT_ROLES",
    "AGQ",
    "AIQ",
    "ApiToken",
    "Attachment",
    "BaseModel",
    "Blob",
    "ChecklistItemDef",
    "Comment",
    "DONE",
    "DefaultTrackingItem",
    "FAILED",
    "FIRST_LEVEL",
    "FOCAL",
    "FieldDef",
    "INTERNO",
    "InboundMail",
    "Institution",
    "MODELS",
    "TicketCount",
    "TicketWeek",
    "NotificationTemplate",
    "OPEN",
    "Outbox",
    "PENDING",
    "Queue",
    "REJECTED",
    "ROLES",
    "ROLE_LABELS",
    "RolePolicy",
    "SECOND_LEVEL",
    "SENT",
    "STAGES",
    "STAGE_LABELS",
    "STATE_CATEGORIES",
    "StageChange",
    "StateDef",
    "TYPE_CATEGORIES",
    "Ticket",
    "TicketEvent",
    "TicketType",
    "TicketTypeVersion",
    "TrackingItem",
    "TransitionDef",
    "User",
    "UserSession",
    "WAITING",
    "now",
]
