"""No built-in signing secret or admin password (X6): a deployment sets them, `make up` generates
them for a local platform, and an empty or example value counts as unset."""
import stat

import pytest
import yaml

from gateway import settings
from plumbing import local_secrets
from plumbing.config import SettingError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
A_SECRET = "a-test-secret-of-32-bytes-or-more"


@pytest.fixture
def bare_environment(monkeypatch):
    for name in ("JWT_SECRET", "ADMIN_PASSWORD", "CSOPS_LOCAL_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def refusal(config):
    with pytest.raises(SettingError) as refused:
        settings.secrets(config)
    return str(refused.value)


def example_values():
    """What .env.example and the k8s Secret example hold, and the old built-in defaults."""
    example = yaml.safe_load((ROOT / "deploy/k8s/secret/csops-secrets.example.yaml").read_text())["stringData"]
    env_example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                       if line and not line.startswith("#"))
    return [(example["JWT_SECRET"], example["ADMIN_PASSWORD"]), (env_example["JWT_SECRET"], env_example["ADMIN_PASSWORD"]),
            ("local-development-secret-change-me", "admin"), ("change-me", "check"), ("  ", "CHANGE-ME")]


def test_without_secrets_the_gateway_names_both_in_one_line(bare_environment):
    line = refusal({})
    assert line.startswith("gateway: set JWT_SECRET and ADMIN_PASSWORD") and "\n" not in line


@pytest.mark.parametrize("jwt_secret, admin_password", example_values())
def test_an_empty_or_example_value_counts_as_unset(bare_environment, jwt_secret, admin_password):
    assert refusal({"JWT_SECRET": jwt_secret, "ADMIN_PASSWORD": admin_password}).startswith(
        "gateway: set JWT_SECRET and ADMIN_PASSWORD")
    assert refusal({"JWT_SECRET": A_SECRET, "ADMIN_PASSWORD": admin_password}).startswith(
        "gateway: set ADMIN_PASSWORD ")
    bare_environment.setenv("ADMIN_PASSWORD", "a-real-admin-password")
    assert refusal({"JWT_SECRET": jwt_secret}).startswith("gateway: set JWT_SECRET ")


def test_make_up_generates_them_once_readable_by_the_owner_only(bare_environment, tmp_path, capsys):
    where = tmp_path / "var" / "secrets"
    local_secrets.main([str(where)])
    said = capsys.readouterr().out
    assert f"{where / 'admin_password'}" in said and said.count("\n") == 1   # where to read it, once
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    made = {path.name: path.read_text() for path in where.iterdir()}
    assert set(made) == {"jwt_secret", "admin_password"}
    for path in where.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(made["jwt_secret"].strip()) >= 43 and len(made["admin_password"].strip()) >= 20

    local_secrets.main([str(where)])   # every later `make up`: the same secrets, nothing said
    assert capsys.readouterr().out == ""
    assert {path.name: path.read_text() for path in where.iterdir()} == made

    bare_environment.setenv("CSOPS_LOCAL_SECRETS_DIR", str(where))
    assert settings.secrets({}) == settings.Secrets(made["jwt_secret"].strip(), made["admin_password"].strip())
    bare_environment.setenv("JWT_SECRET", A_SECRET)   # the environment, when set, comes first
    assert settings.secrets({}).jwt_secret == A_SECRET
