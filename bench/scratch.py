"""A PostgreSQL database and a RabbitMQ vhost of a bench script's own,
removed afterwards (also when the script fails)."""
import secrets
from contextlib import contextmanager
from urllib.parse import quote

import psycopg2
import requests

MGMT, MGMT_AUTH = "http://127.0.0.1:15672", ("guest", "guest")


@contextmanager
def scratch(prefix):
    """Yield (database URL, AMQP URI) on a fresh database and vhost."""
    run_id = secrets.token_hex(4)
    database, vhost = f"csops_bench_{prefix}_{run_id}", f"csops-bench-{prefix}-{run_id}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    requests.put(f"{MGMT}/api/vhosts/{vhost}", auth=MGMT_AUTH, timeout=10).raise_for_status()
    requests.put(f"{MGMT}/api/permissions/{vhost}/guest", auth=MGMT_AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    try:
        yield (f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}",
               f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}")
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        requests.delete(f"{MGMT}/api/vhosts/{vhost}", auth=MGMT_AUTH, timeout=30)
