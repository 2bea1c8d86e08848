"""The Data Docs pages show every value as text: article content that fails an expectation never runs in a browser."""

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import SEEDS

from newsflow.batch import Batch
from newsflow.quality import gx
from newsflow.settings import Settings
from newsflow.stages import clean, ingest, plan, validate

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PAYLOADS = (
    "<script>document.title='PWNED-SCRIPT'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
)


def rendered(page: Path) -> str:
    """The page's DOM after a headless browser ran its scripts."""
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout


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
    source = tmp_path / "source"
    source.mkdir()
    for path in sorted(SEEDS.glob("*.txt"))[:4]:
        shutil.copy(path, source / path.name)
    (source / "hostile.txt").write_text(
        "Council approves the new budget\n\nThe council approved the budget on Monday. " + " ".join(PAYLOADS) + "\n"
    )
    settings = Settings(source_dir=source, output_dir=tmp_path / "out", contracts_dir=contracts, gx_dir=tmp_path / "gx")
    batch = clean.run(ingest.run(plan.run(Batch("run-hostile", datetime(2026, 3, 1, tzinfo=UTC)), settings), settings), settings)
    checked = validate.run(batch, settings)
    assert checked.quarantine.filter(pl.col("code") == "failed_expectation")["source_uri"].to_list() == ["hostile.txt"]
    gx.build_data_docs(checked, settings)

    [page] = (tmp_path / "gx").rglob("validations/documents/run-hostile/**/*.html")
    dom = rendered(page)
    title, body = re.search(r"<title>(.*?)</title>", dom, re.S).group(1), re.search(r"<body[^>]*>", dom).group(0)
    assert "PWNED" not in title and "data-pwned" not in body  # neither payload ran
    assert "<img src=x" not in dom and "<script>document" not in dom  # nor became an element
    assert "&lt;script&gt;document.title" in dom and "&lt;img src=x onerror" in dom  # both are on the page, as text
