"""Fixtures shared by every test: real RabbitMQ and PostgreSQL on loopback.

nameko's pytest plugin gives ``rabbit_config`` (a fresh vhost per test),
``container_factory`` and ``runner_factory``. eventlet must patch the
standard library before anything imports sockets.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import io  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sqlite3  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from plumbing import migrate  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def new_postgres_database():
    """``new_postgres_database()`` makes a fresh, empty PostgreSQL database and
    returns its URL; every one made is dropped after the test."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = []

    def make():
        names.append(f"csops_test_{uuid.uuid4().hex[:12]}")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{names[-1]}"'))
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{names[-1]}"
    yield make
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(new_postgres_database):
    """A fresh, empty PostgreSQL database, dropped after the test."""
    return new_postgres_database()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """``migrated_templates(service, backend)``: a database of the service at its head revision, made
    by its migrations once per test session (a PostgreSQL database's name, or an SQLite file)."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made = {}

    def template(service, backend):
        if (service, backend) not in made:
            if backend == "postgresql":
                name = f"csops_template_{service}_{uuid.uuid4().hex[:8]}"
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                migrate.upgrade(service, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
            else:
                name = tmp_path_factory.mktemp("migrated") / f"{service}.db"
                migrate.upgrade(service, f"sqlite:///{name}")
            made[service, backend] = name
        return made[service, backend]
    yield template
    with admin.connect() as connection:
        for (_, backend), name in made.items():
            if backend == "postgresql":
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def migrated(migrated_templates):
    """``migrated(service, url)`` brings that database to the service's head revision. An empty one
    becomes a copy of the session's migrated template (a tenth of the time the migrations take on
    PostgreSQL); one with tables already is migrated in place."""
    def upgrade(service, url):
        database = make_url(url)
        if database.get_backend_name() == "postgresql" and is_empty_postgres(url):
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{database.database}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{database.database}" '
                                        f'TEMPLATE "{migrated_templates(service, "postgresql")}"'))
            admin.dispose()
        elif database.get_backend_name() == "sqlite" and not Path(database.database).exists():
            with sqlite3.connect(migrated_templates(service, "sqlite")) as source, \
                    sqlite3.connect(database.database) as copy:
                source.backup(copy)  # the online backup: WAL contents included
            source.close()
            copy.close()
        else:
            migrate.upgrade(service, url)
        return url
    return upgrade


def is_empty_postgres(url):
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = connection.execute(text(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar_one()
    engine.dispose()
    return tables == 0


@pytest.fixture
def service_config(rabbit_config):
    """nameko config for a service under test on a fresh vhost, with fast retries."""
    # channels mails nowhere unless a test starts an SMTP server (port 9, discard: refused on loopback)
    return dict(rabbit_config, EVENT_RETRY_DELAYS=[0.2, 0.2], OUTBOX_POLL_SECONDS=0.2,
                CHANNELS_SMTP_HOST="127.0.0.1", CHANNELS_SMTP_PORT=9)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def start_service(container_factory, service_config, database_url, migrated):
    """Start a service class in a container on a migrated database of its own."""
    def start(service_cls, **config):
        url = migrated(service_cls.name, database_url)
        container = container_factory(service_cls, dict(service_config, DATABASE_URL=url, **config))
        container.start()
        return container
    return start


@pytest.fixture
def process_log():
    """The lines a service process logs, as it writes them: ``log_setup``
    (which ``plumbing.serve`` runs) with its handler writing to a buffer.
    ``process_log()`` gives the lines so far."""
    from plumbing.config import log_setup

    handlers, level = logging.root.handlers[:], logging.root.level
    log_setup("INFO")
    written = io.StringIO()
    logging.root.handlers[0].setStream(written)
    yield lambda: written.getvalue().splitlines()
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


@pytest.fixture(scope="session")
def event_schemas():
    """``event_schemas.validate(envelope)`` checks an event against its
    documented JSON Schema (docs/events/schemas/<type>.v<dataversion>.json)."""
    from tests.event_schemas import EventSchemas

    return EventSchemas()


# -- a real IMAP server on loopback (Debian's dovecot-imapd; .ci/run installs it) ---------------------------
DOVECOT_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
"""


class Dovecot:
    """Dovecot on a free loopback port with its own configuration, users and maildirs under ``root``
    (plain-text login, no TLS: loopback only). ``user(name, password)`` adds a mailbox user;
    ``append(user, password, raw, folder)`` delivers a mail as a client would (IMAP APPEND)."""

    def __init__(self, capability=None):
        """``capability``: the CAPABILITY the server advertises instead of its own (Dovecot's
        ``imap_capability``), e.g. one without IDLE."""
        import pwd
        import socket
        import tempfile
        # its own directory, outside pytest's owner-only tmp_path: the mail processes run as a system user
        # (Dovecot refuses mail access as root), which must reach the maildirs
        self.root = Path(tempfile.mkdtemp(prefix="csops-dovecot-"))
        self.root.chmod(0o755)
        mail_user = next((name for name in ("dovecot", "nobody", "mail") if _has_user(name)), None)
        entry = pwd.getpwnam(mail_user)
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir()
        for name in ("mail", "home"):
            os.chown(self.root / name, entry.pw_uid, entry.pw_gid)
        (self.root / "users").write_text("")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.host = "127.0.0.1"
        self.config = self.root / "dovecot.conf"
        self.config.write_text(DOVECOT_CONFIG.format(root=self.root, port=self.port, uid=entry.pw_uid,
                                                     gid=entry.pw_gid, user=pwd.getpwuid(os.getuid()).pw_name)
                               + (f"imap_capability = {capability}\n" if capability else ""))
        self.process = None

    def start(self):
        import shutil
        import socket
        import subprocess
        import time
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(binary):
            pytest.skip("dovecot is not installed (.ci/run installs dovecot-imapd)")
        self.process = subprocess.Popen([binary, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def stop(self):
        """Stop the server (its mail stays: ``start`` again serves it, as after a restart). The
        connections of its clients end with it, as on a server that restarts: the master leaves its
        imap processes behind when it is terminated, so they are ended after it."""
        import signal
        if self.process is not None and self.process.poll() is None:
            children = _children(self.process.pid)
            self.process.terminate()
            try:
                self.process.wait(10)
            except Exception:
                self.process.kill()
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.process = None

    def remove(self):
        import shutil
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self, whole=False):
        path = self.root / "dovecot.log"
        text = path.read_text() if path.exists() else ""
        return text if whole else text[-2000:]

    def user(self, name, password):
        with (self.root / "users").open("a") as users:
            users.write(f"{name}:{{PLAIN}}{password}::::::\n")

    def client(self, user, password):
        from imapclient import IMAPClient
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, password)
        return client

    def append(self, user, password, raw: bytes, folder="INBOX"):
        with self.client(user, password) as client:
            return client.append(folder, raw)


def _children(pid):
    """The ids of the processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _has_user(name):
    import pwd
    try:
        return pwd.getpwnam(name) is not None
    except KeyError:
        return False


@pytest.fixture
def dovecot():
    """A running Dovecot of the test's own (``Dovecot``); gone with its mail after the test."""
    server = Dovecot()
    try:
        yield server.start()
    finally:
        server.remove()


@pytest.fixture
def dovecot_without_idle():
    """A running Dovecot that does not advertise IDLE (RFC 2177): clients must poll it."""
    server = Dovecot(capability="IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS")
    try:
        yield server.start()
    finally:
        server.remove()


# -- a real SMTP server on loopback (aiosmtpd, in a process of its own) ------------------------------------
@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server (aiosmtpd) on loopback, started for the test."""
    from tests.smtp_sink import SmtpServer

    server = SmtpServer(tmp_path / "smtp").start()
    yield server
    server.stop()
