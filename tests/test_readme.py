"""The README's promises: its code snippets run, its data dictionary matches schemas/."""

import re

from conftest import PROJECT_ROOT

from newsflow.catalog import DICTIONARY_END, DICTIONARY_START, data_dictionary
from newsflow.settings import Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_snippets_run_against_a_published_output(seeds_run, monkeypatch, tmp_path):
    output, _ = seeds_run
    (tmp_path / "output").symlink_to(output)
    monkeypatch.chdir(tmp_path)
    snippets = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert len(snippets) >= 3
    for snippet in snippets:
        namespace: dict = {}
        exec(compile(snippet, "README.md", "exec"), namespace)
    assert namespace["quarantine"].shape[0] == 0  # the pandas snippet ran last


def test_readme_data_dictionary_is_generated_from_the_contracts():
    section = README.split(DICTIONARY_START, 1)[1].split(DICTIONARY_END, 1)[0]
    assert section.strip() == data_dictionary(Settings().contracts_dir).strip(), "run `make docs`"


def test_readme_shows_the_two_commands():
    assert "make run" in README and "make test" in README
