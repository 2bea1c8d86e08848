"""Every NEWSFLOW_* setting a run reads takes effect, and a run's parameters, when given, win over them."""

from pathlib import Path

import pytest

from conftest import SEEDS

from newsflow import pipeline
from newsflow.batch import Batch
from newsflow.settings import Settings


class Captured(Exception):
    pass


def distinctive(name: str, field, tmp_path: Path):
    """A valid value of the setting that is not its default."""
    default = field.get_default(call_default_factory=True)
    if field.annotation in (Path, Path | str):  # a folder, or a folder or a store's URI
        return tmp_path / name
    if field.annotation is bool:
        return not default
    if field.annotation is int:
        return default + 1
    if field.annotation is float:
        return default / 2
    return f"{default}_elsewhere"


def settings_of_a_run(monkeypatch, **parameters) -> Settings:
    def capture(batch, settings):
        raise Captured(settings)

    monkeypatch.setattr(pipeline, "prepare_output", capture)
    with pytest.raises(Captured) as captured:
        pipeline.news_pipeline(**parameters)
    return captured.value.args[0]


def test_every_setting_comes_from_the_environment_unless_the_run_passes_it(monkeypatch, tmp_path, prefect_server):
    expected = {name: distinctive(name, field, tmp_path) for name, field in Settings.model_fields.items()}
    expected["source_dir"] = SEEDS  # the flow checks the folder exists
    for name, value in expected.items():
        monkeypatch.setenv(f"NEWSFLOW_{name.upper()}", str(value))
    assert settings_of_a_run(monkeypatch).model_dump() == expected
    given = {"source": SEEDS / "..", "output": tmp_path / "given", "full_refresh": False, "batch_size": 7}
    settings = settings_of_a_run(monkeypatch, **given)
    assert (settings.source_dir, settings.output_dir, settings.full_refresh, settings.batch_size) == tuple(given.values())
    assert settings.max_file_bytes == expected["max_file_bytes"]  # what a run does not pass stays the environment's


def test_the_batch_size_of_the_environment_cuts_a_real_run(monkeypatch, tmp_path, prefect_server):
    cut = []
    batches = Batch.batches
    monkeypatch.setattr(Batch, "batches", lambda run, size: cut.append(len(parts := batches(run, size))) or parts)
    monkeypatch.setenv("NEWSFLOW_BATCH_SIZE", "2")
    record = pipeline.news_pipeline(source=SEEDS, output=tmp_path / "output")
    assert cut == [3] and record.status == "completed" and record.counts["documents_published"] == 5


def test_the_flow_refuses_an_output_file_and_a_source_without_articles(tmp_path, prefect_server):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="is a file, not a folder; pass --output a folder") as refused:
        pipeline.news_pipeline(source=SEEDS, output=tmp_path / "a-file")
    assert type(refused.value).__name__ == "ParameterTypeError"  # before the run starts
    with pytest.raises(Exception, match="holds no article file the pipeline reads"):
        pipeline.news_pipeline(source=tmp_path / "empty", output=tmp_path / "out")
