"""Views added by later features register here, so the mount order stays in one place."""


def register_extra_views(admin) -> None:
    """Mount optional views (designer, pipeline, outbox, dashboard) when present."""
    return None
