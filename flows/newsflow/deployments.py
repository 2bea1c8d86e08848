"""The deployments of prefect.yaml, served from one process by `newsflow serve`.

prefect.yaml is the one place that defines them: `prefect deploy --all` reads it for work
pools, and this module reads the same descriptions, parameters and schedules. The served ones are
named `<name>-served` (daily-served, manual-served): under the same names, each route overwrote the
other's deployments, and stopping `serve` paused the work pool's.
"""

from pathlib import Path

import yaml
from prefect import serve
from prefect.schedules import Cron

from newsflow.alerts import set_up_alerts
from newsflow.pipeline import news_pipeline
from newsflow.settings import PROJECT_ROOT, Settings

PREFECT_FILE = PROJECT_ROOT / "prefect.yaml"
SERVED_SUFFIX = "-served"


def deployment_specs(prefect_file: Path = PREFECT_FILE, timezone: str | None = None) -> list[dict]:
    """Keyword arguments of Flow.to_deployment for every deployment in the file, as served (named <name>-served; the
    timezone may be overridden)."""
    specs = []
    for deployment in yaml.safe_load(prefect_file.read_text(encoding="utf-8"))["deployments"]:
        schedules = [
            Cron(schedule["cron"], timezone=timezone or schedule.get("timezone"))
            for schedule in deployment.get("schedules") or ()
        ]
        specs.append(
            {
                "name": deployment["name"] + SERVED_SUFFIX,
                "description": deployment.get("description"),
                "parameters": deployment.get("parameters") or {},
                "tags": deployment.get("tags") or [],
                "schedules": schedules,
            }
        )
    return specs


def serve_deployments(prefect_file: Path = PREFECT_FILE, timezone: str | None = None) -> None:
    """Register the deployments and their alerts, and run their flow runs from this process until interrupted."""
    set_up_alerts(Settings())
    serve(*(news_pipeline.to_deployment(**spec) for spec in deployment_specs(prefect_file, timezone)))
