"""The platform as `make up` runs it, but each command of its Procfile a process of
its own (honcho would not let a test kill and restart one), every service on
a fresh PostgreSQL database, on a fresh RabbitMQ vhost, with its mail servers
(Dovecot for the support mailbox, aiosmtpd for mail out); and the faults that
the tests inflict on it."""
import subprocess
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from plumbing.services import BACKEND_NAMES as SERVICES
from plumbing.services import NAMES as DATABASES
from plumbing.testing import free_port, procfile_commands, wait_for
from tests.conftest import ROOT, ServiceProcess, write_procfile
from tests.smtp_sink import SmtpServer
ADMIN_PASSWORD = "faults-admin-password"
IMAP_PASSWORD = "faults-imap-password"
SMTP_SECONDS = 0.1  # the SMTP server's time over each mail: a kill of channels finds one on the way
REPORTS = pytest.StashKey[list]()


class Platform:
    def __init__(self, env, tmp_path):
        self.base = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        commands = procfile_commands(write_procfile(tmp_path), env)
        self.service_classes = [argv[-1] for _, _, argv in commands]  # python -m plumbing.serve <class>
        self.processes = {name: (ServiceProcess(argv[-1], env, tmp_path / f"{name}.log"), extra)
                          for name, extra, argv in commands}
        self.engines = {service: create_engine(env[f"{service.upper()}_DATABASE_URL"], pool_pre_ping=True)
                        for service in DATABASES}

    def start(self, name):
        process, extra = self.processes[name]
        process.start(**extra)

    def kill(self, name):
        self.processes[name][0].kill()

    def stop(self):
        for process, _ in self.processes.values():
            process.stop()
        for engine in self.engines.values():
            engine.dispose()

    def healthy(self):
        for name, (process, _) in self.processes.items():
            assert process.process.poll() is None, f"{name} exited:\n{process.log()[-3000:]}"
        try:
            return requests.get(f"{self.base}/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_healthy(self, timeout=120):
        """Seconds until the gateway and every service it pings answer."""
        started = time.monotonic()
        wait_for(self.healthy, timeout=timeout, interval=0.25, message="every process to answer /health")
        return time.monotonic() - started

    def query(self, service, sql):
        with self.engines[service].connect() as connection:
            return connection.execute(text(sql)).all()

    def refuse_connections(self, seconds):
        """Every service's database refuses new connections and drops the open
        ones for ``seconds``; the cluster itself (others use it) stays up."""
        names = [self.engines[service].url.database for service in DATABASES]
        for engine in self.engines.values():
            engine.dispose()
        admin = create_engine(self.engines["gateway"].url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for name in names:
                    connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = ANY(:names)"), {"names": names})
            time.sleep(seconds)
        finally:
            with admin.connect() as connection:
                for name in names:
                    connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            admin.dispose()


def restart_rabbitmq(seconds):
    """The local node stops its broker application for ``seconds``: every
    connection of every client drops (other test runs' too)."""
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    try:
        time.sleep(seconds)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)


@pytest.fixture
def smtp_sink(tmp_path):
    sink = SmtpServer(tmp_path / "smtp", SMTP_SECONDS).start()
    yield sink
    sink.stop()


@pytest.fixture
def platform_on_postgres(process_env, new_postgres_database, tmp_path, dovecot, smtp_sink):
    """Migrated and declared as `make up` does it, started, answering /health; channels polls
    the Dovecot mailbox ``support`` (``platform.dovecot``) every second and mails ``platform.smtp``."""
    dovecot.user("support", IMAP_PASSWORD)
    env = dict(process_env, GATEWAY_PORT=str(free_port()), ADMIN_PASSWORD=ADMIN_PASSWORD,
               JWT_SECRET="faults-secret-of-at-least-32-bytes-long",
               FAULTS_IMAP_PASSWORD=IMAP_PASSWORD, CHANNELS_POLL_SECONDS="1", CHANNELS_SEND_SECONDS="0.5",
               CHANNELS_SMTP_HOST="127.0.0.1", CHANNELS_SMTP_PORT=str(smtp_sink.port),
               CHANNELS_SMTP_TIMEOUT_SECONDS="2", CHANNELS_RETRY_BASE_SECONDS="1",
               **{f"{service.upper()}_DATABASE_URL": new_postgres_database() for service in DATABASES},
               **{f"{service.upper()}_METRICS_PORT": str(free_port()) for service in SERVICES})
    done = subprocess.run(["make", "--no-print-directory", "migrate", "topology"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    platform = Platform(env, tmp_path)
    platform.dovecot, platform.smtp = dovecot, smtp_sink
    try:
        for name in platform.processes:
            platform.start(name)
        platform.wait_healthy()
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def fault_report(request, tmp_path):
    """``fault_report(markdown)`` writes the run's counts to a file in the
    test's tmp dir; the terminal summary shows them."""
    def write(markdown):
        path = tmp_path / "faults-report.md"
        path.write_text(markdown)
        request.config.stash.setdefault(REPORTS, []).append((request.node.nodeid, path, markdown))
    return write


def pytest_terminal_summary(terminalreporter, config):
    for nodeid, path, markdown in config.stash.get(REPORTS, []):
        terminalreporter.section(f"counts under faults: {nodeid}")
        terminalreporter.write_line(f"(written to {path})")
        terminalreporter.write_line(markdown)
