"""Shared fixtures: a private Prefect home and server, a private GX project, the seed articles, one pipeline run over them."""

import contextlib
import os
import shutil
import socket
import tempfile
import time
from datetime import datetime
from pathlib import Path

# Everything the session writes outside pytest's own tmp_path lives here, removed when the session ends.
SESSION_DIR = Path(tempfile.mkdtemp(prefix="newsflow-test-"))
# Before anything imports Prefect: a throwaway Prefect home.
os.environ["PREFECT_HOME"] = str(SESSION_DIR / "prefect")
# Stage functions called with default settings never read or write the project's own output/.
os.environ["NEWSFLOW_OUTPUT_DIR"] = str(SESSION_DIR / "output")
# Validation results and Data Docs of the test runs stay out of the project's gx/.
os.environ["NEWSFLOW_GX_DIR"] = str(SESSION_DIR / "gx")

from newsflow.runtime.environment import prepare_process  # noqa: E402

prepare_process()  # the in-process runs get the command's environment: no telemetry, newsflow's logs in Prefect's

import polars as pl  # noqa: E402
import pytest  # noqa: E402

from newsflow.batch import Batch  # noqa: E402
from newsflow.settings import Settings  # noqa: E402
from newsflow.stages import clean, groups, ingest, plan, publish, signatures  # noqa: E402
from newsflow.storage import tables  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SEEDS = PROJECT_ROOT / "seeds"
# Measuring corpora live beside the project (../shared/corpora), never inside it.
CORPORA = Path(os.environ.get("NEWSFLOW_CORPORA", PROJECT_ROOT.parent / "shared" / "corpora"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def pytest_unconfigure(config):
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory, prefect_server):
    """The news-pipeline flow run once over the seeds; returns (output folder, run record)."""
    from newsflow.pipeline import news_pipeline

    output = tmp_path_factory.mktemp("seeds-output")
    record = news_pipeline(source=SEEDS, output=output)
    return output, record


def read_table(output: Path, table: str) -> pl.DataFrame:
    return pl.read_delta(str(output / table))


def seed_doc(documents: pl.DataFrame, prefix: str) -> dict:
    """The document row of the seed whose file name starts with `prefix` (000 ... 004)."""
    return documents.filter(pl.col("source_uri").str.starts_with(prefix)).row(0, named=True)


def cleaned_articles(source: Path, output: Path, started_at: datetime) -> Batch:
    """The new and changed articles of `source` (against what `output` holds), ingested and cleaned."""
    settings = Settings(source_dir=source, output_dir=output)
    batch = plan.run(Batch(f"run-{started_at:%Y%m%dT%H%M%S}", started_at), settings)
    return clean.run(ingest.run(batch, settings), settings)


def run_stages(source: Path, output: Path, started_at: datetime) -> Batch:
    """One pipeline run without Prefect: ingest → clean → duplicates → groups over `source`, published into `output`."""
    settings = Settings(source_dir=source, output_dir=output)
    batch = groups.run(signatures.run(cleaned_articles(source, output, started_at), settings), settings)
    tables.ensure_tables(settings, {})
    publish.publish_tables(batch, settings)
    return batch


def updates_by_doc(batch: Batch) -> dict[str, dict]:
    """The batch's changes to earlier documents, per doc_id: every column any stage set, later stages last."""
    merged: dict[str, dict] = {}
    for frame in batch.document_updates:
        for row in frame.iter_rows(named=True):
            merged.setdefault(row["doc_id"], {}).update(row)
    return merged


def write_articles(folder: Path, articles: dict[str, str | bytes]) -> Path:
    """Write each article (file name → text, or bytes as read from a corpus) into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in articles.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return folder


def seed_texts() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}


def moto_server(**variables: str):
    """moto's S3-compatible server in its own process on a free port of 127.0.0.1 (`variables` set its behaviour);
    returns the process and its endpoint, once it answers."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, env={**os.environ, **variables}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return server, endpoint
        except OSError:  # not listening yet
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"moto's server did not start on {endpoint}")


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto_server) with a bucket `news`; the AWS_* variables that point every client
    at it are set for the session (and the processes it starts). Yields the endpoint's URL."""
    import boto3

    server, endpoint = moto_server()
    variables = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="news")
        yield endpoint
    finally:
        server.terminate()
        server.wait()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def upload(folder: Path, uri: str) -> str:
    """Copy a folder's files under a store's prefix; returns the prefix's URI."""
    import pyarrow.fs as pafs

    from newsflow.storage.stores import filesystem

    fs, path = filesystem(uri)
    pafs.copy_files(str(folder), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
    return uri
