"""The secrets of a platform `make up` runs on this machine: the gateway's JWT_SECRET and the first
admin's ADMIN_PASSWORD, generated on first start and kept in files only their owner may read.

    python3 plumbing/plumbing/local_secrets.py var/secrets

makes each one missing in that folder and, when it makes the admin password, says where to read
it (once, as Jenkins and Grafana do). `make up` then starts every process with
``CSOPS_LOCAL_SECRETS_DIR`` naming the folder, which is how ``read`` finds them; a deployment has
no such folder and sets both in its environment. Standard library only, so that it runs with
any python3.
"""
import os
import secrets
import sys
from pathlib import Path

NAMES = ("JWT_SECRET", "ADMIN_PASSWORD")
DIRECTORY_SETTING = "CSOPS_LOCAL_SECRETS_DIR"


def file_of(directory, name) -> Path:
    return Path(directory) / name.lower()


def read(name) -> str | None:
    """The generated value of ``name`` when this process was started by `make up`, else None."""
    directory = os.environ.get(DIRECTORY_SETTING)
    path = file_of(directory, name) if directory else None
    return path.read_text().strip() if path and path.exists() else None


def make(directory) -> list[Path]:
    """Make each missing secret file (a random URL-safe value, mode 0600) in ``directory`` (mode 0700);
    returns the files it made."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    made = []
    for name in NAMES:
        path = file_of(directory, name)
        try:  # created with its mode, never readable by others even for an instant; never overwritten
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48 if name == "JWT_SECRET" else 24) + "\n")
        made.append(path)
    return made


def main(argv=None):
    directory = (argv or sys.argv[1:])[0]
    made = make(directory)
    if file_of(directory, "ADMIN_PASSWORD") in made and not os.environ.get("ADMIN_PASSWORD"):
        username = os.environ.get("ADMIN_USERNAME") or "admin"
        print(f"make up: the first admin is {username!r}; read the password generated for it in "
              f"{file_of(directory, 'ADMIN_PASSWORD')} (readable by you only) and change it after signing in")


if __name__ == "__main__":
    main()
