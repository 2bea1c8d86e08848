"""Scheduling as a user meets it: a real Prefect server, `newsflow serve`, `prefect deployment run`."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import PROJECT_ROOT, SEEDS, free_port, wait_for

from newsflow.artifacts import DATA_DOCS_KEY, PROGRESS_KEY, QUARANTINE_KEY, SUMMARY_KEY, VALIDATION_KEY
from newsflow.deployments import deployment_specs

BIN = Path(sys.executable).parent


class Background:
    """A command in its own process group, ended with everything it started."""

    def __init__(self, command: list[str], env: dict, log: Path):
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def webhook():
    """A webhook receiver on 127.0.0.1: the JSON bodies POSTed to it, in order."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


@pytest.fixture(scope="module")
def served(tmp_path_factory, webhook):
    """A Prefect server on a free port with a private home, and `newsflow serve` reporting to it, its alerts going to
    the webhook receiver."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api, "NEWSFLOW_ALERT_WEBHOOK_URL": webhook[0]}
    server = Background([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, home / "server.log")
    serve = None
    try:
        wait_for(lambda: urllib.request.urlopen(f"{api}/health", timeout=2).read() == b"true", "server", 120, server.log)
        serve = Background([str(BIN / "newsflow"), "serve"], env, home / "serve.log")
        wait_for(lambda: read_deployment(env, "news-pipeline/manual-served"), "deployments", 120, serve.log)
        yield env
    finally:
        for process in filter(None, (serve, server)):
            process.stop()


def prefect(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "prefect"), *args], env={**env, "COLUMNS": "250"}, capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def api_client(env: dict):
    """A client of the test's server (this process's own Prefect settings point elsewhere)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        yield client


def read_deployment(env: dict, name: str):
    with api_client(env) as client:
        return client.read_deployment_by_name(name)


def latest_flow_run(env: dict):
    with api_client(env) as client:
        (run,) = client.read_flow_runs(limit=1, sort="EXPECTED_START_TIME_DESC")
        artifacts = client.read_artifacts()
    return run, {a.key for a in artifacts if a.flow_run_id == run.id}


def test_triggering_the_manual_deployment_runs_the_pipeline_with_its_artifacts(served, tmp_path):
    output = tmp_path / "out"
    triggered = prefect(
        served, "deployment", "run", "news-pipeline/manual-served",
        "--param", f"source={SEEDS}", "--param", f"output={output}", "--watch", "--watch-timeout", "150",
        timeout=180,
    )
    assert triggered.returncode == 0 and "Completed" in triggered.stdout, triggered.stdout + triggered.stderr
    run, artifact_keys = latest_flow_run(served)
    assert run.state.is_completed() and run.parameters["output"] == str(output)
    assert {SUMMARY_KEY, QUARANTINE_KEY, DATA_DOCS_KEY, PROGRESS_KEY, VALIDATION_KEY} <= artifact_keys
    assert pl.read_delta(str(output / "documents")).height == 5
    runs = pl.read_delta(str(output / "runs"))
    assert runs["flow_run_id"].to_list() == [str(run.id)]


def test_a_missing_source_folder_fails_the_run_with_a_clear_message_and_an_alert(served, webhook, tmp_path):
    triggered = prefect(
        served, "deployment", "run", "news-pipeline/manual-served",
        "--param", f"source={tmp_path / 'missing'}", "--param", f"output={tmp_path / 'out'}", "--watch",
        timeout=180,
    )
    assert "Failed" in triggered.stdout
    run, _ = latest_flow_run(served)
    assert run.state.is_failed()
    assert f"source folder {tmp_path / 'missing'} does not exist" in run.state.message
    assert not (tmp_path / "out").exists()
    # the automation set up by `newsflow serve` POSTs the alert to the webhook
    received = webhook[1]
    wait_for(lambda: any(run.name in alert["subject"] for alert in received), "alert", 90, Path("/dev/null"))
    [alert] = [alert for alert in received if run.name in alert["subject"]]
    assert alert["subject"] == f"news-pipeline run {run.name} failed"
    assert str(run.id) in alert["body"] and "Failed" in alert["body"] and "does not exist" in alert["body"]


def test_the_daily_deployment_has_its_cron_schedule(served):
    daily = read_deployment(served, "news-pipeline/daily-served")
    spec = next(d for d in yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"] if d["name"] == "daily")
    (schedule,) = daily.schedules
    assert schedule.schedule.cron == spec["schedules"][0]["cron"] == "0 6 * * *"
    assert schedule.schedule.timezone == "UTC" and schedule.active
    assert daily.parameters == {"source": "seeds", "output": "output", "full_refresh": False}


def test_serve_builds_the_deployments_of_prefect_yaml_with_an_overridable_time_zone():
    specs = {spec["name"]: spec for spec in deployment_specs(timezone="Europe/London")}
    assert sorted(specs) == ["daily-served", "manual-served"]
    assert specs["daily-served"]["schedules"][0].timezone == "Europe/London" and specs["manual-served"]["schedules"] == []


def test_the_work_pool_deployments_stand_beside_the_served_ones(served):
    created = prefect(served, "work-pool", "create", "newsflow-process", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = prefect(served, "--no-prompt", "deploy", "--all", timeout=180)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with api_client(served) as client:
        deployments = {d.name: d for d in client.read_deployments()}
    assert sorted(deployments) == ["daily", "daily-served", "manual", "manual-served"]
    assert deployments["manual"].work_pool_name == "newsflow-process"
    assert deployments["manual-served"].work_pool_name is None and not deployments["daily-served"].paused  # untouched


def test_a_table_level_validation_failure_sends_an_alert_naming_it(served, webhook, tmp_path):
    source = tmp_path / "copies"
    source.mkdir()
    seed = sorted(SEEDS.glob("*.txt"))[0]
    for n in range(4):  # one distinct content in four files: below min_distinct_content_share
        (source / f"copy-{n}.txt").write_bytes(seed.read_bytes())
    triggered = prefect(
        served, "deployment", "run", "news-pipeline/manual-served",
        "--param", f"source={source}", "--param", f"output={tmp_path / 'out'}", "--watch", "--watch-timeout", "150",
        timeout=180,
    )
    assert "Failed" in triggered.stdout
    run, _ = latest_flow_run(served)
    received = webhook[1]
    wait_for(lambda: any(run.name in alert["subject"] for alert in received), "alert", 90, Path("/dev/null"))
    [alert] = [alert for alert in received if run.name in alert["subject"]]
    assert "validation failed, nothing of run" in alert["body"] and "documents" in alert["body"]
