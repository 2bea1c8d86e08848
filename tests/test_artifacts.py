"""What a person sees of a run in the Prefect UI: its artifacts, read back through the Prefect API."""

import json
import shutil

import pytest

from conftest import SEEDS

from newsflow import artifacts


@pytest.fixture
def progress_updates(monkeypatch):
    """Every update of the progress artifact, (percent, description), none held back."""
    updates = []
    monkeypatch.setattr(artifacts.ProgressArtifact, "SECONDS_BETWEEN_UPDATES", 0)
    monkeypatch.setattr(artifacts, "update_progress_artifact", lambda _id, percent, description: updates.append((percent, description)))
    return updates


def test_progress_moves_within_each_batch_and_ends_at_100_also_on_a_no_op(tmp_path, prefect_server, progress_updates):
    from newsflow.pipeline import news_pipeline

    source = tmp_path / "source"
    shutil.copytree(SEEDS, source)
    news_pipeline(source=source, output=tmp_path / "out", batch_size=2)  # 3 batches: 2, 2 and 1 documents
    percents = [percent for percent, _ in progress_updates]
    assert percents == sorted(percents) and progress_updates[-1] == (100.0, "completed: 5 document(s) processed")
    batch_ends = [percent for percent, description in progress_updates if description.startswith("documents:")]
    # none done, each batch's end, and below 100 until what follows the batches is done
    assert len(batch_ends) == 4 and batch_ends[0] == 0 and batch_ends[-1] == 99 and batch_ends == sorted(set(batch_ends))
    within_second = {percent for percent, description in progress_updates if batch_ends[1] < percent < batch_ends[2]}
    assert len(within_second) >= 5  # every stage of the batch moved it
    assert any(description.startswith("extract:") and batch_ends[1] < percent < batch_ends[2] for percent, description in progress_updates)

    progress_updates.clear()
    again = news_pipeline(source=source, output=tmp_path / "out", batch_size=2)
    assert again.counts["files_unchanged"] == 5
    assert progress_updates[-1] == (100.0, "completed: 0 document(s) processed")


def test_a_failed_run_ends_its_progress_at_100_saying_it_failed(tmp_path, prefect_server, progress_updates):
    from newsflow.pipeline import news_pipeline
    from newsflow.quality.summary import ValidationFailed

    source = tmp_path / "copies"
    source.mkdir()
    for n in range(4):  # one distinct content in four files: below min_distinct_content_share
        shutil.copy(sorted(SEEDS.glob("*.txt"))[0], source / f"copy-{n}.txt")
    with pytest.raises(ValidationFailed):
        news_pipeline(source=source, output=tmp_path / "out")
    percent, description = progress_updates[-1]
    assert percent == 100.0 and description.startswith("failed: validation failed, nothing of run")


def test_the_ui_artifacts_of_a_run_hold_its_summary_validation_progress_and_data_docs_link(tmp_path, prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from newsflow.pipeline import news_pipeline

    record = news_pipeline(source=SEEDS, output=tmp_path / "out")
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[record.flow_run_id])))
    by_key = {artifact.key: artifact for artifact in found}
    assert by_key[artifacts.PROGRESS_KEY].data == 100.0
    summary = by_key[artifacts.SUMMARY_KEY].data
    assert [line for line in summary.splitlines() if line.startswith("## ")] == [
        "## Files", "## Languages", "## Duplicates", "## Extraction", "## Validation", "## Tables", "## Stage seconds"
    ]
    assert "files seen: 5" in summary and "near duplicates: 0" in summary and "Documents published by language: en: 5" in summary
    validation = json.loads(by_key[artifacts.VALIDATION_KEY].data)
    checked = {table for table, counts in record.validation["suites"].items() if counts["expectations"]}
    assert {row["table"] for row in validation} == checked and "documents" in checked
    unique_ids = next(row for row in validation if row["table"] == "documents" and row["expectation"] == "expect_column_values_to_be_unique(doc_id)")
    assert unique_ids | {"failing_values": ""} == {
        "table": "documents", "expectation": "expect_column_values_to_be_unique(doc_id)", "level": "row",
        "rows_checked": 5, "rows_failed": 0, "failing_values": "", "success": True,
    }
    assert by_key[artifacts.DATA_DOCS_KEY].data == "[Great Expectations Data Docs](http://127.0.0.1:8765/index.html)"
