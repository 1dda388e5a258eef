"""Factories for knowledge-base tests: articles written through the service."""

import itertools

from tests.conftest import user
from ticketing import services

_seq = itertools.count(1)


def make_article(author="agq", **overrides):
    """A published Spanish article by a demo account (the AGQ's: SGE's, for everyone)."""
    actor = user(author) if isinstance(author, str) else author
    data = {
        "title": f"Artículo de prueba {next(_seq)}",
        "body": "Cómo **firmar** un documento en Quipux.",
        "tags": ["firma"],
        "category": "Firma electrónica",
        "language": "es",
        "status": "published",
    }
    data.update(overrides)
    return services.create_article(actor, **data)


def resolved_ticket(answer="Renueve el certificado y vuelva a firmar.", **overrides):
    """A support ticket of institution A resolved by its focal user with `answer`."""
    from tests.conftest import make_ticket

    ticket = make_ticket(**overrides)
    services.transition(user("focal"), ticket.id, "resolver", comment=answer)
    return ticket
