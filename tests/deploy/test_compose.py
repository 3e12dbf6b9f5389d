"""No Docker engine runs here: check the Compose file and Dockerfiles for what `compose up` relies on."""

from __future__ import annotations

import importlib.util
import shlex
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
    for name in ("OCRQ_WEBHOOK_SECRET", "OCRQ_WEBHOOK_ALLOWED_HOSTS"):  # it signs and checks like the rest
        assert services["webhooks"]["environment"][name] == services["worker"]["environment"][name]


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
