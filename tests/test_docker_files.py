"""docker/compose.yaml and docker/Dockerfile, checked by parsing them: there is no Docker engine
on the machines that run the tests, so this is what stands between a typo and a user whose
`docker compose up` never becomes healthy."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
PORT = 8765

# ${VAR}, ${VAR:-default}, ${VAR-default}: compose's interpolation, resolved with an empty
# environment (the defaults are what a user gets without configuring anything).
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: str) -> str:
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict), "compose.yaml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose.get("services")
    assert isinstance(found, dict), "compose.yaml has no `services` mapping"
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, in either compose syntax (mapping or KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source, for short (`src:dst[:mode]`) and long volume syntax."""
    out: dict[str, str] = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        out[target] = source
    return out


def published(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs, for short and long port syntax."""
    out: set[tuple[int, int]] = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.add((int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        out.add((int(parts[-2]), int(parts[-1])))
    return out


def healthcheck_command(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    assert test, "no healthcheck test"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL"), f"healthcheck test must start with CMD: {test}"
        return " ".join(str(t) for t in test[1:])
    return str(test)


# --------------------------------------------------------------------------------------------
# compose.yaml
# --------------------------------------------------------------------------------------------


def test_compose_has_the_service_and_its_database(services: dict[str, Any]) -> None:
    assert set(services) >= {"memory", "db"}
    assert services["db"]["image"] == "pgvector/pgvector:pg17"


def test_memory_is_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    build = services["memory"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT, "the build context must be the repository root"
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE


def test_memory_publishes_its_port(services: dict[str, Any]) -> None:
    assert any(container == PORT for _, container in published(services["memory"]))
    # The database stays inside the compose network.
    assert not services["db"].get("ports")


def test_both_keep_their_data_in_named_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    declared = set(compose.get("volumes") or {})
    db_source = mounts(services["db"]).get("/var/lib/postgresql/data")
    assert db_source in declared, "the database's data directory needs a named volume"
    data_dir = environment(services["memory"]).get("MEMORY_DATA_DIR") or dockerfile_env().get(
        "MEMORY_DATA_DIR"
    )
    assert data_dir, "MEMORY_DATA_DIR is set nowhere"
    memory_source = mounts(services["memory"]).get(data_dir)
    assert memory_source in declared, f"{data_dir} (admin key) needs a named volume"
    assert memory_source != db_source


def test_both_have_health_checks(services: dict[str, Any]) -> None:
    assert "pg_isready" in healthcheck_command(services["db"])
    command = healthcheck_command(services["memory"])
    assert "/readyz" in command and str(PORT) in command
    # Loading the model and migrating take a while; failures before then must not count.
    assert services["memory"]["healthcheck"].get("start_period")


def test_memory_waits_for_a_healthy_database(services: dict[str, Any]) -> None:
    depends = services["memory"]["depends_on"]
    assert isinstance(depends, dict), "depends_on needs the long form to carry a condition"
    assert depends["db"]["condition"] == "service_healthy"


def test_database_url_points_at_the_db_service(services: dict[str, Any]) -> None:
    url = urlsplit(environment(services["memory"])["MEMORY_DATABASE_URL"])
    db_env = environment(services["db"])
    assert url.scheme.startswith("postgresql")
    assert url.hostname == "db"
    assert (url.port or 5432) == 5432
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]


# --------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _runs() -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]


# `pip install ... .` or `... -e .` or `... .[extra]`, within one shell command.
_PROJECT_INSTALL = re.compile(r"pip install\b[^&;|]*\s(?:-e\s+)?\.(?:\[[^\]]*\])?(?:\s|$)")


def test_base_image_is_python_311_slim() -> None:
    bases = [args for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert bases, "no FROM"
    image = bases[-1].split()[0]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image


def _makefile_torch_pin() -> str:
    found = re.search(r"torch==([\w.+]+)", (ROOT / "Makefile").read_text())
    assert found, "the Makefile pins no torch"
    return found.group(1)


def test_cpu_torch_is_installed_before_the_project() -> None:
    runs = _runs()
    torch_step = next(
        (i for i, r in enumerate(runs) if re.search(r"pip install .*torch==", r)), None
    )
    project_step = next((i for i, r in enumerate(runs) if _PROJECT_INSTALL.search(r)), None)
    assert torch_step is not None, "torch is not installed on its own"
    assert project_step is not None, "the project is not installed"
    assert torch_step < project_step, "torch must come first, or pip resolves a CUDA build"
    torch_run = runs[torch_step]
    assert f"torch=={_makefile_torch_pin()}" in torch_run, "the Makefile pins another torch"
    assert "download.pytorch.org/whl/cpu" in torch_run, "torch must come from the CPU index"


def test_project_is_installed_with_the_constraints_like_the_makefile() -> None:
    project = next(r for r in _runs() if _PROJECT_INSTALL.search(r))
    assert "-c constraints.txt" in project
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    copies = [args for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    assert any("constraints.txt" in c.split() for c in copies)


def test_copied_files_exist_and_pass_the_dockerignore() -> None:
    ignore = DOCKER / "Dockerfile.dockerignore"
    allowed = [
        line[1:].rstrip("/") for line in ignore.read_text().splitlines() if line.startswith("!")
    ]
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY" or args.startswith("--from"):
            continue
        for source in shlex.split(args)[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source.rstrip("/") in allowed, f"{source} is excluded by {ignore.name}"


def test_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    assert users, "no USER: the service would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_asks_readyz() -> None:
    checks = [args for keyword, args in dockerfile_instructions() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/readyz" in checks[0] and str(PORT) in checks[0]


def test_listens_on_all_interfaces_on_the_exposed_port() -> None:
    exposed = [args for keyword, args in dockerfile_instructions() if keyword == "EXPOSE"]
    assert any(str(PORT) in e.split() for e in exposed)
    env = dockerfile_env()
    # The default 127.0.0.1 would be unreachable from outside the container.
    assert env.get("MEMORY_HOST") == "0.0.0.0"  # noqa: S104 - what this test requires
    assert env.get("MEMORY_PORT", str(PORT)) == str(PORT)
    assert env.get("HF_HUB_OFFLINE") == "1", "the model must never be fetched at run time"


def test_starts_the_server() -> None:
    commands = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    assert commands and "memory-service" in commands[-1] and "run" in commands[-1]
