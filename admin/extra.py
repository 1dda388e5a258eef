"""Views added by later features, mounted in one place so the menu order stays stable."""

import importlib

# each module has `register(admin)`; a module not written yet is skipped
EXTRA_MODULES = (
    "admin.onboarding",  # pipeline of institutions, plantilla de seguimiento
    "admin.designer",  # ticket type designer, process import/export
    "admin.outbox",  # outbox and mail templates
    "admin.tokens",  # API tokens
    "admin.dashboard",  # charts
    "admin.knowledge",  # Ayuda: knowledge-base articles
    "admin.security",  # menu link to Seguridad de la cuenta
    "admin.search",  # Buscar (the menu's search box)
    "admin.inbox",  # Avisos: the bell, the person's notices, mail preferences
    "admin.replies",  # Respuestas predefinidas (canned replies)
    "admin.webhooks",  # webhooks: endpoints and their deliveries
    "admin.calendars",  # Calendarios: business hours and days off of each queue
)


def register_extra_views(admin) -> None:
    """Mount every optional view module that exists."""
    for name in EXTRA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not (exc.name and name.startswith(exc.name)):
                raise
            continue
        module.register(admin)
