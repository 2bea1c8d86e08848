"""The README sections generated from the code's own definitions (`make docs`; a test checks them).

Each section sits between `<!-- NAME:start -->` and `<!-- NAME:end -->` in README.md.
"""

import sys
from pathlib import Path

import yaml
from pydantic_core import PydanticUndefined

from newsflow.contracts import EXPECTATION_LEVELS, TABLES, WRITE_MODES, Expectation, load_contract
from newsflow.settings import PROJECT_ROOT, Settings


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
    """The README's data dictionary, generated from the contracts (`make docs` writes it)."""
    sections = []
    for table in TABLES:
        contract = load_contract(contracts_dir, table)
        rows = [f"| `{c.name}` | `{c.type_spec}` | {'yes' if c.nullable else 'no'} | {c.description} |" for c in contract.columns]
        lines = [
            f"### {table}",
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
    return "\n\n".join(sections) + "\n"


def _expectation_row(expectation: Expectation) -> str:
    arguments = ", ".join(f"{key}: {_flow_yaml(value)}" for key, value in expectation.kwargs.items())
    cells = [expectation.level, f"`{expectation.type}`", f"`{arguments}`", expectation.description]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _flow_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True).strip().removesuffix("...").strip()


def sections() -> dict[str, str]:
    return {"settings": settings_table(), "data-dictionary": data_dictionary(Settings().contracts_dir)}


def _split(text: str, name: str) -> tuple[str, str, str]:
    head, rest = text.split(f"<!-- {name}:start -->\n", 1)
    body, tail = rest.split(f"<!-- {name}:end -->", 1)
    return head, body, tail


def section(text: str, name: str) -> str:
    return _split(text, name)[1]


def update_readme(readme: Path) -> bool:
    """Rewrite the generated sections of the README; True if anything changed."""
    text = original = readme.read_text(encoding="utf-8")
    for name, content in sections().items():
        head, _, tail = _split(text, name)
        text = f"{head}<!-- {name}:start -->\n{content}<!-- {name}:end -->{tail}"
    readme.write_text(text, encoding="utf-8")
    return text != original


if __name__ == "__main__":  # `make docs`
    update_readme(Path(sys.argv[1]))
