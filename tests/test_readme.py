"""The README's promises: its code snippets run, and the generated docs (configuration, data dictionary) match the code."""

import re

from conftest import PROJECT_ROOT

from newsflow.docs import generated

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_snippets_run_against_a_published_output(seeds_run, monkeypatch, tmp_path):
    output, _ = seeds_run
    (tmp_path / "output").symlink_to(output)
    monkeypatch.chdir(tmp_path)
    snippets = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert len(snippets) == 5
    results = []
    for snippet in snippets:
        namespace: dict = {}
        exec(compile(snippet, "README.md", "exec"), namespace)
        results.append(namespace)
    validation, polars, releases, duckdb, pandas = results
    assert validation["validation"]["expectations_evaluated"] > 20 and validation["validation"]["failures"] == []
    assert polars["first"].height == 5 and polars["paragraphs"]["kind"].unique().to_list() == ["body"]
    assert releases["documents"].height == 5 and releases["paragraphs_then"]["doc_id"].n_unique() == 5
    assert len(releases["changes"]["added"]) == 5
    assert dict(duckdb["removed"].iter_rows())["also_read_teaser"] == 5
    assert pandas["quarantine"].shape[0] == 0 and pandas["documents_v1"].shape[0] == 5


def test_generated_docs_are_current():
    for path, text in generated().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run `make docs`"


def test_readme_shows_the_two_commands():
    assert "make run" in README and "make test" in README
