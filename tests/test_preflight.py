"""tests/preflight.py: make test names what is missing in one line each, or enables the broker's plugins."""
import pytest

from tests import preflight
from tests.preflight import COMPOSE, MANAGEMENT, POSTGRES, PROMETHEUS_PLUGIN, PROMTOOL, RABBITMQ


def checks(*absent):
    return {need: (lambda present=need not in absent: present) for need in preflight.CHECKS}


def refuse(plugins, checks):
    return False


def test_nothing_to_say_when_everything_is_there():
    assert preflight.preflight(checks(), enable=refuse) == []


def test_one_line_per_missing_piece_with_the_command_that_provides_it():
    problems = preflight.preflight(checks(POSTGRES, PROMTOOL, COMPOSE), enable=refuse)
    assert problems == [
        "make test needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth): "
        "pg_ctlcluster <version> main start (Debian package postgresql)",
        "make test needs promtool and prometheus (check and run the Prometheus config and alert rules): "
        "apt-get install prometheus",
        "make test needs docker-compose (validates docker-compose.yml): apt-get install docker-compose"]


def test_the_plugins_are_enabled_when_they_can_be():
    enabled = []

    def enable(plugins, checks):
        enabled.extend(plugins)
        return True
    assert preflight.preflight(checks(MANAGEMENT, PROMETHEUS_PLUGIN), enable=enable) == []
    assert enabled == [MANAGEMENT, PROMETHEUS_PLUGIN]


def test_plugins_that_cannot_be_enabled_are_named():
    problems = preflight.preflight(checks(MANAGEMENT), enable=refuse)
    assert problems == ["make test needs RabbitMQ's management plugin on :15672 (nameko's fixtures make a vhost "
                        "per test): rabbitmq-plugins enable rabbitmq_management"]


@pytest.mark.parametrize("plugin", [MANAGEMENT, PROMETHEUS_PLUGIN])
def test_a_missing_broker_is_named_alone(plugin):
    """Its plugins cannot answer either; it is the broker that is missing."""
    enabled = []
    problems = preflight.preflight(checks(RABBITMQ, plugin), enable=lambda plugins, checks: enabled.append(plugins))
    assert problems == ["make test needs RabbitMQ at 127.0.0.1:5672 (guest/guest): "
                        "rabbitmq-server -detached (Debian package rabbitmq-server)"]
    assert enabled == []

