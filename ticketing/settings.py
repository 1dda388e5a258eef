"""The one settings table: every option, its default and what it is for.

Each entry is (default, description). `create_app` applies the defaults, then
`MESA_`/plain environment variables, then the mapping a test passes in.
The README's configuration table is generated from this dict (see `flask --app wsgi settings`).
"""

SETTINGS: dict[str, tuple[object, str]] = {
    "DATABASE_URL": (
        None,
        "peewee database URL (postgresql://...); unset: SQLite file instance/mesa.sqlite3 "
        "in WAL mode, schema and demo data created at first start",
    ),
    "DB_POOL_SIZE": (
        8,
        "PostgreSQL connections kept open per process (0: a new connection per request)",
    ),
    "INSTANCE_PATH": (None, "folder for the SQLite file and the secret key; unset: instance/"),
    "REDIS_URL": (None, "Redis for RQ jobs; unset: jobs run in-process right after commit"),
    "SECRET_KEY": (None, "session signing key; unset: generated once into instance/secret_key"),
    "MAIL_SERVER": (None, "SMTP host; unset: mail is rendered, kept in the outbox and logged"),
    "MAIL_PORT": (25, "SMTP port"),
    "MAIL_USE_TLS": (False, "STARTTLS on the SMTP connection"),
    "MAIL_USE_SSL": (False, "implicit TLS on the SMTP connection"),
    "MAIL_USERNAME": (None, "SMTP user"),
    "MAIL_PASSWORD": (None, "SMTP password"),
    "MAIL_DEFAULT_SENDER": ("soporte@administracionpublica.gob.ec", "From: address of mail"),
    "MAIL_TIMEOUT": (10, "seconds before an SMTP connection attempt is abandoned"),
    "SGE_SUPPORT_ADDRESS": (
        "soporte@administracionpublica.gob.ec",
        "address of SGE's second-level queue (mail to it becomes or updates a ticket)",
    ),
    "PUBLIC_URL": (
        None,
        "base URL written into mail links; unset: the host and port the request came to"
        " (set it in production, with TRUSTED_HOSTS, so a forged Host never reaches a link)",
    ),
    "TRUSTED_HOSTS": (None, "comma-separated host names the server answers to; unset: any"),
    "LOG_LEVEL": ("INFO", "level of the console log (DEBUG, INFO, WARNING, ERROR)"),
    "BABEL_DEFAULT_LOCALE": ("es", "UI language when the user has not chosen one"),
    "MAX_ATTACHMENT_MB": (10, "largest attachment accepted, in MiB"),
    "MAX_MAIL_IN_KB": (15 * 1024, "largest inbound mail accepted by mail-in, in KiB"),
    "OUTBOX_SWEEP_AFTER_SECONDS": (
        300,
        "pending rows, and rows a deliverer claimed, older than this are re-enqueued; keep it"
        " above the delivery job timeout (6 × MAIL_TIMEOUT, at least 60 s)",
    ),
    "OUTBOX_MAX_ATTEMPTS": (5, "send attempts before an outbox row is marked failed"),
    "REMINDER_DAYS_BEFORE": (3, "days before a due date when the first reminder goes out"),
    "SEED_DEMO": (None, "load demo institutions and accounts; unset: only on the embedded default"),
    "SESSION_COOKIE_SECURE": (False, "send the session cookie over HTTPS only"),
    "REMEMBER_COOKIE_SECURE": (False, "send the remember-me cookie over HTTPS only"),
    "PROXY_COUNT": (0, "reverse proxies in front of gunicorn whose X-Forwarded-* are trusted"),
    "RQ_QUEUE": ("mesa", "name of the RQ queue jobs go to"),
    "LOGIN_THROTTLE": (True, "throttle failed sign-ins (Redis-backed when REDIS_URL is set)"),
    "LOGIN_LIMIT_PER_ACCOUNT": (
        "5 per minute; 20 per hour",
        "failed sign-ins, codes or reset requests allowed per account (known or not)",
    ),
    "LOGIN_LIMIT_PER_ADDRESS": (
        "30 per minute; 200 per hour",
        "failed sign-ins, codes or reset requests allowed per client address",
    ),
    "DB_RETRY_AFTER_SECONDS": (
        5,
        "Retry-After of the 503 answered when a request loses its database connection",
    ),
    "WEBHOOK_ALLOW_HTTP": (
        False,
        "deliver webhooks to http://127.0.0.1 / http://[::1] too (tests); otherwise https only",
    ),
    "WEBHOOK_TIMEOUT": (5, "seconds a webhook receiver has to answer before the attempt fails"),
    "WEBHOOK_MAX_ATTEMPTS": (8, "delivery attempts before a webhook delivery is marked failed"),
    "IDEMPOTENCY_KEY_HOURS": (24, "hours an API Idempotency-Key is remembered with its answer"),
}


def defaults() -> dict[str, object]:
    """The default value of every setting."""
    return {key: value for key, (value, _doc) in SETTINGS.items()}
