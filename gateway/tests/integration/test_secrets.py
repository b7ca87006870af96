"""A gateway started without its secrets, or with example values, refuses to start in one line
saying what to set; one started as `make up` starts it uses the secrets make up generated."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from plumbing import local_secrets

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def gateway_env(rabbit_config, tmp_path, migrated):
    """The environment of `python -m plumbing.serve gateway...` on a reachable broker and a migrated
    database, without any secret."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("JWT_SECRET", "ADMIN_PASSWORD", "CSOPS_LOCAL_SECRETS_DIR") and not key.endswith("_DATABASE_URL")}
    url = migrated("gateway", f"sqlite:///{tmp_path / 'gateway.db'}")
    return dict(env, AMQP_URI=rabbit_config["AMQP_URI"], GATEWAY_DATABASE_URL=url, CSOPS_VAR_DIR=str(tmp_path))


def serve_gateway(env):
    return subprocess.run([sys.executable, "-m", "plumbing.serve", "gateway.service:GatewayService"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("given", [{}, {"JWT_SECRET": "CHANGE-ME-at-least-32-random-bytes", "ADMIN_PASSWORD": "admin"}])
def test_a_gateway_without_its_secrets_refuses_to_start_in_one_line(gateway_env, given):
    result = serve_gateway(dict(gateway_env, **given))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("gateway: set JWT_SECRET and ADMIN_PASSWORD")


def test_a_gateway_started_as_make_up_does_signs_in_with_the_generated_admin_password(
        start_platform, gateway_config, base_url, tmp_path, monkeypatch):
    local_secrets.main([str(tmp_path / "secrets")])
    monkeypatch.setenv("CSOPS_LOCAL_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.delenv("ADMIN_PASSWORD")
    del gateway_config["JWT_SECRET"]
    start_platform("ticketing")
    generated = (tmp_path / "secrets" / "admin_password").read_text().strip()
    signed_in = requests.post(f"{base_url}/api/v1/auth/token", json={"username": "admin", "password": generated})
    assert signed_in.status_code == 200, signed_in.text
