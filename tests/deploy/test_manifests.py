"""deploy/: the Kubernetes manifest and the compose file agree with the app and the image."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTING_VARIABLES = {f"CONVLENS_{spec.name.upper()}" for spec in dataclasses.fields(Settings)}
IMAGE_USER = 10001  # the Dockerfile's USER


@pytest.fixture(scope="module")
def kubernetes() -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text("utf-8")))
    return {document["kind"]: document for document in documents if document}


def container(kubernetes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = kubernetes["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def test_the_manifest_has_a_deployment_a_service_and_an_autoscaler(
        kubernetes: dict[str, dict[str, Any]]) -> None:
    assert {"Deployment", "Service", "HorizontalPodAutoscaler"} <= set(kubernetes)
    deployment = kubernetes["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kubernetes["Service"]["spec"]["selector"].items() <= labels.items()
    target = kubernetes["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = kubernetes["HorizontalPodAutoscaler"]["spec"]
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    # CPU utilisation is measured against the request, so there must be one.
    assert container(kubernetes)["resources"]["requests"]["cpu"]


def test_probes_ask_the_health_endpoint_on_the_served_port(
        kubernetes: dict[str, dict[str, Any]]) -> None:
    spec = container(kubernetes)
    env = {item["name"]: item["value"] for item in spec["env"]}
    port_names = {port["name"]: port["containerPort"] for port in spec["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        check = spec[probe]["httpGet"]
        assert check["path"] == "/api/v1/health"
        assert port_names.get(check["port"], check["port"]) == int(env["CONVLENS_PORT"])
    assert env["CONVLENS_HOST"] == "0.0.0.0"


def test_every_variable_is_a_setting_and_the_grace_period_covers_the_shutdown(
        kubernetes: dict[str, dict[str, Any]]) -> None:
    spec = container(kubernetes)
    env = {item["name"]: item["value"] for item in spec["env"]}
    assert set(env) <= SETTING_VARIABLES, set(env) - SETTING_VARIABLES
    settings = Settings.from_env(env)
    pre_stop = int(spec["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = kubernetes["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert pre_stop + settings.graceful_shutdown_seconds < grace
    assert settings.keep_alive_seconds > 60  # above common balancer idle timeouts


def test_pods_run_as_the_images_unprivileged_user(kubernetes: dict[str, dict[str, Any]]) -> None:
    pod = kubernetes["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == IMAGE_USER
    own = container(kubernetes)["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"]["drop"] == ["ALL"]


def test_compose_runs_replicas_behind_a_proxy_with_known_settings() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    app = compose["services"]["convlens"]
    assert app["deploy"]["replicas"] >= 2
    assert "ports" not in app  # only the proxy is published
    assert set(app["environment"]) <= SETTING_VARIABLES
    assert (DEPLOY / app["build"] / "Dockerfile").is_file()
    proxy = compose["services"]["proxy"]
    caddyfile = (DEPLOY / "Caddyfile").read_text("utf-8")
    assert "dynamic a convlens 8000" in caddyfile and "/api/v1/health" in caddyfile
    assert any(volume.startswith("./Caddyfile:") for volume in proxy["volumes"])
