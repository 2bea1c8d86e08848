"""The documentation generated from the code's own definitions (`make docs`; a test checks it is current).

docs/CONFIGURATION.md is generated whole from the settings, docs/DATA_DICTIONARY.md from the contracts,
the quarantine codes and the run counters.
"""

from pathlib import Path

import yaml
from pydantic_core import PydanticUndefined

from newsflow import counters, quarantine
from newsflow.contracts import EXPECTATION_LEVELS, TABLES, WRITE_MODES, Expectation, load_contract
from newsflow.settings import PROJECT_ROOT, Settings

CONFIGURATION = PROJECT_ROOT / "docs" / "CONFIGURATION.md"
DATA_DICTIONARY = PROJECT_ROOT / "docs" / "DATA_DICTIONARY.md"


def settings_table() -> str:
    """Every setting with its environment variable, default and meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `NEWSFLOW_{name.upper()}` | {_default(field)} | {field.description} |")
    return "\n".join(rows) + "\n"


def _default(field) -> str:
    if field.default is PydanticUndefined:
        return "number of cores"  # the only factories are os.cpu_count()
    value = field.default
    if isinstance(value, Path) and value.is_relative_to(PROJECT_ROOT):
        value = value.relative_to(PROJECT_ROOT).as_posix() + ("/" if value.suffix == "" else "")
    return f"`{value}`"


def data_dictionary(contracts_dir: Path) -> str:
    """docs/DATA_DICTIONARY.md: every table's columns and expectations, the quarantine codes and the run counters."""
    sections = [
        "# Data dictionary",
        "Generated from the contracts in `schemas/`, the codes in `flows/newsflow/quarantine.py` and the counters in "
        "`flows/newsflow/counters.py` by "
        "`make docs`; do not edit by hand (a test checks it is current).",
    ]
    for table in TABLES:
        contract = load_contract(contracts_dir, table)
        rows = [f"| `{c.name}` | `{c.type_spec}` | {'yes' if c.nullable else 'no'} | {c.description} |" for c in contract.columns]
        lines = [
            f"## {table}",
            "",
            f"{contract.description} Written: {WRITE_MODES[contract.write_mode]}.",
            "",
            "| column | type | nullable | meaning |",
            "|---|---|---|---|",
            *rows,
        ]
        if contract.expectations:
            levels = "; ".join(f"{level}: {meaning}" for level, meaning in EXPECTATION_LEVELS.items())
            lines += ["", f"Expectations ({levels}):", "", "| level | expectation | arguments | meaning |", "|---|---|---|---|"]
            lines += [_expectation_row(e) for e in contract.expectations]
        sections.append("\n".join(lines))
    codes = [f"| `{name}` | {code.stage} | {code.happened} | {code.to_do} |" for name, code in quarantine.CODES.items()]
    sections.append("\n".join(["## Quarantine codes", "", "| code | stage | what happened | what to do |", "|---|---|---|---|", *codes]))
    counted = [f"| `{name}` | {counter.group} | {counter.counts} |" for name, counter in counters.COUNTERS.items()]
    intro = "Every run's counters (`runs.counts`), which its summary shows by group:"
    sections.append("\n".join(["## Run counters", "", intro, "", "| counter | group | what it counts |", "|---|---|---|", *counted]))
    return "\n\n".join(sections) + "\n"


def _expectation_row(expectation: Expectation) -> str:
    arguments = ", ".join(f"{key}: {_flow_yaml(value)}" for key, value in expectation.kwargs.items())
    cells = [expectation.level, f"`{expectation.type}`", f"`{arguments}`", expectation.description]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _flow_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True).strip().removesuffix("...").strip()


def configuration() -> str:
    """docs/CONFIGURATION.md: every setting with its variable, default and meaning."""
    intro = (
        "# Configuration\n\nGenerated from `flows/newsflow/settings.py` by `make docs`; do not edit by hand (a test "
        "checks it is current). Each setting is read from the environment with the `NEWSFLOW_` prefix; the run "
        "parameters (`newsflow run --help`, or a deployment's parameters) win over the environment.\n\n"
    )
    return intro + settings_table()


def generated() -> dict[Path, str]:
    """Every generated file's expected text."""
    return {CONFIGURATION: configuration(), DATA_DICTIONARY: data_dictionary(Settings().contracts_dir)}


if __name__ == "__main__":  # `make docs`
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
