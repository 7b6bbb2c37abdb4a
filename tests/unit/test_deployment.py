"""No Docker engine runs here: check that compose, the Dockerfile, the CLI and the settings agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from service.app import create_app
from service.cli import build_parser
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _setting_exists(name: str) -> bool:
    parts = name.removeprefix("MNEMONIX_").lower().split("__")
    fields = Settings.model_fields
    for i, part in enumerate(parts):
        if part not in fields:
            return False
        annotation = fields[part].annotation
        if i < len(parts) - 1:
            fields = getattr(annotation, "model_fields", {})
    return True


def test_services_and_dependencies() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for role in ("api", "worker"):
        assert (
            services[role]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )
    assert "healthcheck" in services["db"] and "healthcheck" in services["api"]


def test_every_command_is_a_real_cli_command() -> None:
    parser = build_parser()
    for name in ("migrate", "api", "worker"):
        parser.parse_args(COMPOSE["services"][name]["command"])


def test_entrypoint_is_the_declared_console_script() -> None:
    assert PYPROJECT["project"]["scripts"]["mnemonix"] == "service.cli:main"
    assert re.search(r'^ENTRYPOINT \["mnemonix"\]$', DOCKERFILE, re.M)


def test_every_environment_variable_is_a_setting_and_secrets_are_required() -> None:
    names: set[str] = set()
    for service in COMPOSE["services"].values():
        names |= {k for k in (service.get("environment") or {}) if k.startswith("MNEMONIX_")}
    names |= set(re.findall(r"(MNEMONIX_[A-Z_]+)=", DOCKERFILE))
    assert names, "no settings found"
    for name in sorted(names):
        assert _setting_exists(name), f"{name} is not a field of service.settings.Settings"
    raw = (ROOT / "docker-compose.yml").read_text()
    assert "${MNEMONIX_ADMIN_KEY:?" in raw and "${POSTGRES_PASSWORD:?" in raw


def test_ports_and_health_paths_exist() -> None:
    port = Settings().port
    assert f"{port}:{port}" in COMPOSE["services"]["api"]["ports"]
    assert f"EXPOSE {port}" in DOCKERFILE
    routes = {getattr(r, "path", "") for r in create_app().routes}
    for path in re.findall(r"http://127\.0\.0\.1:\d+(/\w+)", str(COMPOSE) + DOCKERFILE):
        assert path in routes, path
    for source in ("service", "channels", "lifecycle", "storage", "migrations"):
        assert f"COPY {source} ./{source}" in DOCKERFILE
