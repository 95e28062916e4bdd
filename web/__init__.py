"""The specialist's web console: an adapter like ``bot/`` and ``ingest/``.

``web.app.create_app(service, secret_key=...)`` builds the Starlette application;
``web.server`` serves it with uvicorn. It imports ``kb`` only, never ``config``,
and never opens a database session: every page and action is one call on
``kb.service.HelpdeskService``.
"""
