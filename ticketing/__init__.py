"""Mesa's domain: models, visibility, services, field kinds and the app factory."""
