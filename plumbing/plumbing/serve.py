"""Run one service process: check its broker and database, then start it.

    python -m plumbing.serve ticketing.service:TicketingService

Configuration comes from the environment (``plumbing.config.service_config``).
A server that is not there gets one line saying what and how to start it,
not a traceback.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (before anything opens a socket)

import argparse  # noqa: E402
import sys  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.cli.run import run  # noqa: E402

from plumbing import migrate  # noqa: E402
from plumbing.config import SettingError, database_url, log_setup, service_config  # noqa: E402
from plumbing.db import DatabaseUnavailable, check_reachable, make_engine  # noqa: E402
from plumbing.topology import load  # noqa: E402


def broker_problem(uri: str) -> str | None:
    try:
        with Connection(uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        safe = Connection(uri).as_uri()
        return (f"RabbitMQ at {safe} is unreachable ({exc}): start it "
                "(rabbitmq-server -detached, or docker compose up rabbitmq) or set AMQP_URI")
    return None


def database_problem(service: str) -> str | None:
    engine = make_engine(database_url(service))
    try:
        check_reachable(engine)
        if not migrate.is_at_head(service, engine):
            return (f"{service}: database {engine.url.render_as_string(hide_password=True)} is not migrated: "
                    f"run `python -m plumbing.migrate {service}` (or make migrate)")
    except DatabaseUnavailable as exc:
        return f"{service}: {exc}"
    finally:
        engine.dispose()
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run a CS Ops service.")
    parser.add_argument("service", help="module:Class, e.g. ticketing.service:TicketingService")
    args = parser.parse_args(argv)
    log_setup()
    config = service_config()
    service_cls = load(args.service)
    problem = broker_problem(config["AMQP_URI"]) or database_problem(service_cls.name)
    if problem:
        sys.exit(problem)
    try:
        run([service_cls], config)
    except SettingError as error:  # raised as the service's container is made, before anything starts
        sys.exit(str(error))


if __name__ == "__main__":
    main()
