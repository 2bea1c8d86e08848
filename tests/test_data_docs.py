"""The Data Docs pages show every value as text: article content that fails an expectation never runs in a browser."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import SEEDS, free_port, wait_for

from newsflow.batch import Batch
from newsflow.quality import gx
from newsflow.settings import Settings
from newsflow.stages import clean, ingest, plan, validate

NEWSFLOW = Path(sys.executable).with_name("newsflow")
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PAYLOADS = (
    "<script>document.title='PWNED-SCRIPT'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
)


def rendered(url: str) -> str:
    """The page's DOM after a headless browser without internet (no host name resolves: no CDN) ran its scripts."""
    offline = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=5000"]
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", *offline, "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout


def validated_seeds(tmp_path: Path, run_id: str, contracts: Path | None = None, extra: dict[str, str] | None = None) -> Batch:
    """Four seed articles (and `extra` files) planned, read, cleaned and validated in a GX project of their own."""
    source = tmp_path / "source"
    source.mkdir()
    for path in sorted(SEEDS.glob("*.txt"))[:4]:
        shutil.copy(path, source / path.name)
    for name, text in (extra or {}).items():
        (source / name).write_text(text)
    settings = Settings(
        source_dir=source, output_dir=tmp_path / "out", contracts_dir=contracts or Settings().contracts_dir, gx_dir=tmp_path / "gx"
    )
    batch = clean.run(ingest.run(plan.run(Batch(run_id, datetime(2026, 3, 1, tzinfo=UTC)), settings), settings), settings)
    checked = validate.run(batch, settings)
    gx.build_data_docs(checked, settings)
    return checked


@pytest.mark.skipif(BROWSER is None, reason="needs chromium (.ci/run installs it)")
def test_html_in_a_refused_article_is_shown_as_text_in_the_data_docs(tmp_path):
    contracts = tmp_path / "schemas"
    shutil.copytree(Settings().contracts_dir, contracts)
    documents_contract = yaml.safe_load((contracts / "documents.yaml").read_text())
    # a user's contract that refuses articles carrying markup: the refused text is what the page shows
    documents_contract["expectations"]["row"].append(
        {"expectation": "expect_column_values_to_not_match_regex", "column": "text", "regex": "onerror|<script"}
    )
    (contracts / "documents.yaml").write_text(yaml.safe_dump(documents_contract))
    hostile = "Council approves the new budget\n\nThe council approved the budget on Monday. " + " ".join(PAYLOADS) + "\n"
    checked = validated_seeds(tmp_path, "run-hostile", contracts, {"hostile.txt": hostile})
    assert checked.quarantine.filter(pl.col("code") == "failed_expectation")["source_uri"].to_list() == ["hostile.txt"]

    [page] = (tmp_path / "gx").rglob("validations/documents/run-hostile/**/*.html")
    dom = rendered(page.as_uri())
    title, body = re.search(r"<title>(.*?)</title>", dom, re.S).group(1), re.search(r"<body[^>]*>", dom).group(0)
    assert "PWNED" not in title and "data-pwned" not in body  # neither payload ran
    assert "<img src=x" not in dom and "<script>document" not in dom  # nor became an element
    assert "&lt;script&gt;document.title" in dom and "&lt;img src=x onerror" in dom  # both are on the page, as text


@pytest.mark.skipif(BROWSER is None, reason="needs chromium (.ci/run installs it)")
def test_newsflow_docs_serves_an_index_listing_this_runs_validations_without_internet(tmp_path):
    checked = validated_seeds(tmp_path, "run-offline")
    site = (tmp_path / "gx" / checked.validation.data_docs).parent
    pages = [site / "index.html", *site.glob("validations/*/run-offline/**/*.html"), *site.glob("expectations/*.html")]
    for page in pages:  # every script and style the pages load is the site's own copy
        assert not re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', page.read_text()), page
    port = free_port()
    env = {**os.environ, "NEWSFLOW_GX_DIR": str(tmp_path / "gx")}
    server = subprocess.Popen([str(NEWSFLOW), "docs", "--output", str(tmp_path / "out"), "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert f"at http://127.0.0.1:{port}/" in server.stderr.readline()
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2).status == 200, "docs", 60, tmp_path / "none")
        dom = rendered(f"http://127.0.0.1:{port}/index.html")
    finally:
        server.terminate()
        server.wait(timeout=20)
    listed = re.findall(r'<tr class="clickable-row" data-href="validations/(\w+)/run-offline/', dom)  # rows bootstrap-table drew
    assert sorted(listed) == sorted(checked.validation.suites) and "documents" in listed
    assert "bootstrap.min.css" in dom and re.search(r"fa-\w+", dom)  # styles linked, icons in place
