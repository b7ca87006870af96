"""Configuration from the environment, with local defaults."""
import os
from pathlib import Path

from plumbing import local_secrets

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def var_dir() -> Path:
    """Where embedded SQLite databases live (``CSOPS_VAR_DIR``, default ``var``)."""
    path = Path(os.environ.get("CSOPS_VAR_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str) -> str:
    """``<SERVICE>_DATABASE_URL`` (``with_driver``) or an SQLite file of the service's own."""
    configured = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if configured:
        return with_driver(configured)
    return f"sqlite:///{(var_dir() / f'{service}.db').absolute()}"


# The PostgreSQL driver the platform installs; SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3.
POSTGRES_DRIVER = "postgresql+psycopg2"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def with_driver(url: str) -> str:
    """A database URL as operators write it (``postgresql://`` or ``postgres://``, as libpq and most
    hosting providers do) on the installed driver: ``postgresql+psycopg2://``; any other URL as it is."""
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return POSTGRES_DRIVER + "://" + url[len(scheme):]
    return url


class SettingError(RuntimeError):
    """A setting a deployment must make is missing or wrong; the message is the one line that says
    what to set (``plumbing.serve`` prints it and exits)."""


def secret(name) -> str | None:
    """A secret from the environment; else, on a platform `make up` started, the value it generated."""
    return os.environ.get(name) or local_secrets.read(name)


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def log_setup(level=None) -> None:
    """Log lines carry the request id of the worker that wrote them, and no
    customer's phone number or email address (X6)."""
    import logging

    from plumbing.context import RequestIdLogFilter
    from plumbing.errors import ClientErrorLogFilter
    from plumbing.privacy import MaskingFormatter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdLogFilter())
    handler.addFilter(ClientErrorLogFilter())
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=level or os.environ.get("LOG_LEVEL", "INFO"), handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up migration check is not news


def service_config() -> dict:
    """nameko config for a service process, all from the environment."""
    return {
        "AMQP_URI": amqp_uri(),
        "METRICS_PORT": int(os.environ.get("METRICS_PORT", "0")),
        "METRICS_ADDRESS": os.environ.get("METRICS_ADDRESS", "127.0.0.1"),
        "WEB_SERVER_ADDRESS": f"{os.environ.get('GATEWAY_HOST', '127.0.0.1')}:{os.environ.get('GATEWAY_PORT', '8000')}",
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", "1")),
        "max_workers": int(os.environ.get("MAX_WORKERS", "10")),
        # false where each service has a broker user of its own: an event handler then binds to its
        # source's exchange, which the topology job declared, and needs no right to declare (or delete) it
        "DECLARE_EVENT_EXCHANGES": os.environ.get("DECLARE_EVENT_EXCHANGES", "true").lower() != "false",
        # event handlers' settings, when set (plumbing.consumer has the defaults)
        **{name: os.environ[name] for name in ("EVENT_BATCH_SIZE", "EVENT_BATCH_LINGER_SECONDS", "EVENT_MAX_BYTES")
           if name in os.environ},
        "serializer": "json",
    }


def setting(config, service, name, default):
    """A service's setting: its nameko config key ``name``, else the
    environment's ``<SERVICE>_<name>``, else ``default``."""
    return config.get(name) or os.environ.get(f"{service.upper()}_{name}", default)
