"""The monitoring profile's files agree with the code: services, scrape targets, dashboard.

No container runs here; the files are read and checked against what the service exposes,
so a renamed metric or port breaks this test instead of an operator's dashboard.
"""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import REGISTRY

import newsletter.observability.metrics  # noqa: F401 - registers every counter
from newsletter.config import PROJECT_ROOT
from tests.test_compose import compose_with

MONITORING = PROJECT_ROOT / "deploy" / "monitoring"
SCRAPED_AT_RUN_TIME = {  # newsletter.observability.collector
    "newsletter_queue_depth", "newsletter_beat_last_tick_age_seconds", "newsletter_beat_stale",
    "newsletter_inbound_heartbeat_age_seconds", "newsletter_campaign_deliveries",
    "newsletter_data_dir_free_bytes",
}  # fmt: skip


def exposed_names() -> set[str]:
    names = set(SCRAPED_AT_RUN_TIME)
    for family in REGISTRY.collect():
        if family.name.startswith("newsletter_"):
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
            names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def test_the_monitoring_profile_runs_prometheus_grafana_and_flower_pinned_on_loopback() -> None:
    services = compose_with()["services"]
    for name in ("prometheus", "grafana", "flower"):
        spec = services[name]
        assert spec["profiles"] == ["monitoring"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", spec["image"]), spec["image"]
        assert all(str(port).startswith("127.0.0.1:") for port in spec["ports"])


def test_prometheus_scrapes_the_web_with_the_token_and_every_worker() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["newsletter-web"]
    assert web["static_configs"][0]["targets"] == ["web:8000"]
    assert web["authorization"]["credentials_file"] == "/tmp/metrics_token"  # noqa: S108 - in the container
    worker_port = compose_with()["services"]["worker"]["environment"]["WORKER_METRICS_PORT"]
    assert jobs["newsletter-workers"]["dns_sd_configs"][0]["port"] == int(worker_port)


def test_the_grafana_dashboard_only_charts_metrics_the_service_exposes() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "newsletter.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"newsletter_[a-z_]+", target["expr"]))
    assert used, "the dashboard charts nothing"
    assert used <= exposed_names(), used - exposed_names()
    assert {"newsletter_messages_total", "newsletter_queue_depth",
            "newsletter_beat_last_tick_age_seconds"} <= used  # fmt: skip
