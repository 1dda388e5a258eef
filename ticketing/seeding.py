"""Schema migrations, the seed (SGE, the Quipux process, the knowledge base's first
articles) and the demo people."""

import logging
import secrets
from pathlib import Path

from ticketing.db import db
from ticketing.models import (
    MODELS,
    SECOND_LEVEL,
    Institution,
    Queue,
    StageChange,
    User,
)

log = logging.getLogger("mesa.seed")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def router():
    from peewee_migrate import Router

    return Router(db.obj, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"])


def upgrade() -> list[str]:
    """Apply pending migrations; returns their names."""
    return router().run()


def create_schema() -> None:
    """Tables straight from the models: only for empty test databases."""
    db.create_tables(MODELS)
    from ticketing import search

    search.install()


def _demo_schema():
    from ticketing.process_io import TEXT, Keys, ListOf

    institution = {"name": TEXT, "ruc": TEXT, "sigla": TEXT, "phone": TEXT, "address": TEXT}
    return Keys(
        {
            "sge": Keys(
                {**institution, "queue_email": TEXT, "queue_default_type": TEXT},
                required=("name", "ruc", "sigla"),
            ),
            "institutions": ListOf(
                Keys(
                    {**institution, "stage": TEXT, "queue_email": TEXT},
                    required=("name", "ruc", "sigla"),
                )
            ),
            "users": ListOf(
                Keys(
                    {
                        "full_name": TEXT,
                        "cedula": TEXT,
                        "email": TEXT,
                        "role": TEXT,
                        "institution": TEXT,
                        "cargo": TEXT,
                    },
                    required=("full_name", "cedula", "email", "role", "institution"),
                )
            ),
        },
        required=("sge",),
    )


def demo_data(path: Path | None = None) -> dict:
    """The demo file (SGE, institutions, people), its keys checked like a process file's."""
    from seeds import DEMO_FILE
    from ticketing.process_io import ImportErrors, check_schema, parse

    data = parse((path or DEMO_FILE).read_text(encoding="utf-8"))
    errors = check_schema(data, _demo_schema())
    if errors:
        raise ImportErrors(errors)
    return data


def ensure_sge(data: dict | None = None) -> Institution:
    """SGE and its second-level queue (idempotent)."""
    data = data or demo_data()["sge"]
    institution = Institution.get_or_none(Institution.is_sge == True)
    with db.atomic():
        if institution is None:
            institution = Institution.create(
                name=data["name"],
                ruc=data["ruc"],
                sigla=data["sigla"],
                phone=data.get("phone", ""),
                address=data.get("address", ""),
                is_sge=True,
                stage="produccion",
            )
            StageChange.create(institution=institution, stage="produccion")
        if not Queue.select().where(Queue.level == SECOND_LEVEL).exists():
            Queue.create(
                institution=institution,
                level=SECOND_LEVEL,
                name="Mesa de ayuda SGE (segundo nivel)",
                email=data.get("queue_email"),
                default_type_slug=data.get("queue_default_type"),  # mail in: see quipux.yaml
            )
    return institution


def load_process(path: Path | None = None) -> dict:
    """Import the Quipux process file (idempotent)."""
    from seeds import PROCESS_FILE
    from ticketing.process_io import import_process, parse

    path = path or PROCESS_FILE
    return import_process(parse(path.read_text(encoding="utf-8")))


def _articles_schema():
    from ticketing.process_io import TEXT, Keys, ListOf

    article = Keys(
        {"title": TEXT, "body": TEXT, "category": TEXT, "tags": ListOf(TEXT), "language": TEXT},
        required=("title", "body"),
    )
    return Keys({"articles": ListOf(article)}, required=("articles",))


def load_articles(path: Path | None = None) -> int:
    """SGE's published articles from the seed file, each only when no SGE article of that
    title exists (an edited one is left alone); returns how many were added."""
    from seeds import SEEDS_DIR
    from ticketing import search
    from ticketing.models import PUBLISHED, Article, ArticleEvent, now
    from ticketing.outbox import unit_of_work
    from ticketing.process_io import ImportErrors, check_schema, parse
    from ticketing.services.knowledge import clean_article

    data = parse((path or SEEDS_DIR / "articles.yaml").read_text(encoding="utf-8"))
    errors = check_schema(data, _articles_schema())
    if errors:
        raise ImportErrors(errors)
    added = 0
    with unit_of_work():
        for entry in data["articles"]:
            values = clean_article(
                {"language": "es", "tags": [], "category": "", **entry, "status": PUBLISHED}
            )
            exists = Article.select().where(
                (Article.title == values["title"]) & Article.institution.is_null()
            )
            if exists.exists():
                continue
            at = now()
            article = Article.create(
                **values, institution=None, created_at=at, updated_at=at, published_at=at
            )
            ArticleEvent.create(article=article.id, kind="created", data={"source": "seed"})
            search.index_article(article)
            added += 1
    return added


def _replies_schema():
    from ticketing.process_io import TEXT, Keys, ListOf

    reply = Keys(
        {"name": TEXT, "body": TEXT, "types": ListOf(TEXT), "transition": TEXT},
        required=("name", "body"),
    )
    return Keys({"replies": ListOf(reply)}, required=("replies",))


def load_replies(path: Path | None = None) -> int:
    """SGE's canned replies from the seed file, each only when no SGE reply of that name
    exists (an edited one is left alone); returns how many were added."""
    from seeds import SEEDS_DIR
    from ticketing.models import CannedReply
    from ticketing.outbox import unit_of_work
    from ticketing.process_io import ImportErrors, check_schema, parse
    from ticketing.services.replies import clean_reply

    data = parse((path or SEEDS_DIR / "replies.yaml").read_text(encoding="utf-8"))
    errors = check_schema(data, _replies_schema())
    if errors:
        raise ImportErrors(errors)
    added = 0
    with unit_of_work():
        for entry in data["replies"]:
            values = clean_reply(
                {
                    "name": entry["name"],
                    "body": entry["body"],
                    "type_slugs": entry.get("types") or [],
                    "transition": entry.get("transition") or "",
                }
            )
            exists = CannedReply.select().where(
                (CannedReply.name == values["name"]) & CannedReply.institution.is_null()
            )
            if not exists.exists():
                CannedReply.create(**values, institution=None)
                added += 1
    return added


def seed() -> dict:
    """SGE, its queue, the Quipux process, its mail templates and SGE's first articles;
    running it again changes nothing."""
    from seeds import NOTIFICATIONS_FILE

    ensure_sge()
    counts = load_process()
    counts["notification_templates"] += load_process(NOTIFICATIONS_FILE)["notification_templates"]
    counts["articles"] = load_articles()
    counts["replies"] = load_replies()
    return counts


def load_demo(password: str | None = None) -> list[tuple[str, str, str]]:
    """Demo institutions and one account per role; returns (email, role, password) created."""
    from ticketing import services

    data = demo_data()
    ensure_sge(data["sge"])
    password = password or secrets.token_urlsafe(9)
    for inst in data.get("institutions") or []:
        institution = Institution.get_or_none(Institution.sigla == inst["sigla"])
        if institution is None:
            institution = services.create_institution(
                name=inst["name"],
                ruc=inst["ruc"],
                sigla=inst["sigla"],
                phone=inst.get("phone", ""),
                address=inst.get("address", ""),
                stage=inst.get("stage", "produccion"),
            )
            if inst.get("queue_email"):
                Queue.update(email=inst["queue_email"]).where(
                    (Queue.institution == institution) & (Queue.level == 1)
                ).execute()
    created = []
    for person in data.get("users") or []:
        if User.select().where(User.email == person["email"]).exists():
            continue
        institution = Institution.get(Institution.sigla == person["institution"])
        services.create_user(
            services.SYSTEM,
            full_name=person["full_name"],
            cedula=person["cedula"],
            email=person["email"],
            role=person["role"],
            institution_id=institution.id,
            cargo=person.get("cargo", ""),
            password=password,
            invite=False,
        )
        created.append((person["email"], person["role"], password))
    return created


def first_start(app) -> None:
    """On the embedded default: schema, seed and demo accounts once; later starts change nothing."""
    opened = db.connect(reuse_if_open=True)
    try:
        applied = upgrade()
        if applied:
            log.info("migrations applied: %s", ", ".join(applied))
        if Institution.select().where(Institution.is_sge == True).exists():
            return
        seed()
        if app.config.get("SEED_DEMO"):
            created = load_demo()
            lines = ["", "Mesa: demo accounts (shown once; password for all of them):"]
            lines += [f"  {role:8} {email}" for email, role, _pw in created]
            if created:
                lines.append(f"  password: {created[0][2]}")
            if not app.config.get("MAIL_SERVER"):
                # where a newcomer finds invitations and password links
                lines.append("No MAIL_SERVER: each mail is printed here, in this console.")
            print("\n".join(lines) + "\n", flush=True)
    finally:
        if opened:
            db.close()
