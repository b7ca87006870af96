"""A server that is not there gets one clear line, not a traceback."""
import subprocess
import sys

from plumbing.testing import free_port
from tests.conftest import ROOT


def serve(env, service="training.service:TrainingService"):
    return subprocess.run([sys.executable, "-m", "plumbing.serve", service], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def one_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_missing_broker_is_named_with_how_to_start_it(process_env):
    line = one_line(serve(dict(process_env, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")))
    assert "RabbitMQ at amqp://guest:**@127.0.0.1" in line and "rabbitmq-server -detached" in line


def test_a_missing_database_server_is_named_with_how_to_start_it(process_env):
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/training"
    line = one_line(serve(dict(process_env, TRAINING_DATABASE_URL=url)))
    assert line.startswith("training: database postgresql+psycopg2://postgres@127.0.0.1")
    assert "is unreachable" in line and "start PostgreSQL" in line


def test_an_unmigrated_database_says_which_command_migrates_it(process_env):
    line = one_line(serve(process_env))
    assert "is not migrated: run `python -m plumbing.migrate training`" in line


def test_topology_without_a_broker_says_so_in_one_line(process_env):
    env = dict(process_env, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    result = subprocess.run([sys.executable, "-m", "plumbing.topology", "appraisal.service:AppraisalService"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "RabbitMQ at" in one_line(result)
