from app.customers import bp  # noqa: F401
