"""A RabbitMQ vhost and PostgreSQL databases of a benchmark's own, on this machine, removed
afterwards (also when the script fails or is stopped)."""
import os
import secrets
import sys
from contextlib import contextmanager
from urllib.parse import quote

import psycopg2
import requests

MGMT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
MGMT_AUTH = ("guest", "guest")
AMQP_HOST = os.environ.get("BENCH_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")


def amqp_uri(vhost):
    return f"amqp://guest:guest@{AMQP_HOST}/{quote(vhost, safe='')}"


def database_url(name):
    return f"postgresql+psycopg2://postgres@{PG_ADMIN['host']}:{PG_ADMIN['port']}/{name}"


def create_vhost(vhost):
    vhost_path = quote(vhost, safe="")
    try:
        response = requests.put(f"{MGMT}/api/vhosts/{vhost_path}", auth=MGMT_AUTH, timeout=10)
    except requests.ConnectionError:
        sys.exit(f"RabbitMQ management API at {MGMT} is unreachable: rabbitmq-plugins enable rabbitmq_management")
    response.raise_for_status()
    requests.put(f"{MGMT}/api/permissions/{vhost_path}/guest", auth=MGMT_AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()


def delete_vhost(vhost):
    requests.delete(f"{MGMT}/api/vhosts/{quote(vhost, safe='')}", auth=MGMT_AUTH, timeout=30)


def pg_admin():
    """An autocommit connection to the cluster's postgres database."""
    try:
        connection = psycopg2.connect(**PG_ADMIN)
    except psycopg2.OperationalError as exc:
        sys.exit(f"PostgreSQL at {PG_ADMIN['host']}:{PG_ADMIN['port']} is unreachable ({exc}): start it")
    connection.autocommit = True
    return connection


def create_databases(names):
    for_each_database('CREATE DATABASE "{}"', names)


def drop_databases(names):
    for_each_database('DROP DATABASE IF EXISTS "{}" WITH (FORCE)', names)


def for_each_database(statement, names):
    admin = pg_admin()
    with admin.cursor() as cursor:
        for name in names:
            cursor.execute(statement.format(name))
    admin.close()


@contextmanager
def scratch(prefix):
    """Yield (database URL, AMQP URI) on a fresh database and vhost."""
    run_id = secrets.token_hex(4)
    database, vhost = f"csops_bench_{prefix}_{run_id}", f"csops-bench-{prefix}-{run_id}"
    create_databases([database])
    try:
        create_vhost(vhost)
        try:
            yield database_url(database), amqp_uri(vhost)
        finally:
            delete_vhost(vhost)
    finally:
        drop_databases([database])
