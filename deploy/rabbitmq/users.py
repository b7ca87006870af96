"""Make the platform's RabbitMQ users: one per process and one for the topology job, each
allowed only its own exchanges and queues (definitions.json beside this file; docs/operations.md,
"Broker users and database roles").

    RABBITMQ_MANAGEMENT_URL=http://ADMIN:PASSWORD@rabbitmq:15672 \\
    RABBITMQ_GATEWAY_PASSWORD=... RABBITMQ_TICKETING_PASSWORD=... (one per user) \\
        python deploy/rabbitmq/users.py [--vhost /]

The definitions go to the management API's import (the importer ``load_definitions`` uses at
boot) as the administrator, each user with a salted hash of the password in
RABBITMQ_<USER>_PASSWORD. Running it again sets the passwords and permissions again: that is how
they are changed. Compose runs it before the topology job, Kubernetes in the topology Job's init
container. Standard library only.
"""
import argparse
import base64
import copy
import hashlib
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFINITIONS = Path(__file__).with_name("definitions.json")
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"


def password_variable(user: str) -> str:
    return f"RABBITMQ_{user.upper().replace('-', '_')}_PASSWORD"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's stored form of a password: base64(salt + SHA-256(salt + password)), 4 bytes of salt."""
    salt = secrets.token_bytes(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def with_passwords(definitions: dict, passwords: dict, vhost: str = "/") -> dict:
    """The definitions to import: each user with its password's hash, every permission in ``vhost``."""
    missing = [user["name"] for user in definitions["users"] if not passwords.get(user["name"])]
    if missing:
        raise ValueError("no password for " + ", ".join(missing))
    result = copy.deepcopy(definitions)
    for user in result["users"]:
        user.update(password_hash=password_hash(passwords[user["name"]]), hashing_algorithm=HASHING_ALGORITHM)
    result["vhosts"] = [{"name": vhost}]
    for entry in [*result["permissions"], *result.get("topic_permissions", [])]:
        entry["vhost"] = vhost
    return result


def import_definitions(definitions: dict, management_url: str, wait_seconds: float = 120) -> None:
    """POST them to ``management_url`` (http://USER:PASSWORD@HOST:PORT of an administrator), waiting
    up to ``wait_seconds`` for a broker that is still starting."""
    parts = urllib.parse.urlsplit(management_url)
    request = urllib.request.Request(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/definitions", method="POST",
        data=json.dumps(definitions).encode(), headers={"Content-Type": "application/json"})
    credentials = f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or time.monotonic() > deadline:
                raise SystemExit(f"RabbitMQ refused the definitions: {exc.code} {exc.read().decode(errors='replace')}")
        except OSError as exc:  # not listening yet
            if time.monotonic() > deadline:
                raise SystemExit(f"RabbitMQ management API at {parts.hostname}:{parts.port} does not answer: {exc}")
        time.sleep(2)


def main(argv=None, environ=os.environ):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vhost", default="/", help="the virtual host the processes use (default /)")
    args = parser.parse_args(argv)
    definitions = json.loads(DEFINITIONS.read_text())
    users = [user["name"] for user in definitions["users"]]
    unset = [name for name in ("RABBITMQ_MANAGEMENT_URL", *map(password_variable, users)) if not environ.get(name)]
    if unset:
        sys.exit("set " + ", ".join(unset))
    passwords = {user: environ[password_variable(user)] for user in users}
    import_definitions(with_passwords(definitions, passwords, args.vhost), environ["RABBITMQ_MANAGEMENT_URL"])
    print(f"RabbitMQ users {', '.join(users)} ready in vhost {args.vhost}")


if __name__ == "__main__":
    main()
