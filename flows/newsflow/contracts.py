"""The tables and their contracts: which tables there are, their columns and their expectations.

A contract is a YAML file in `schemas/` (one per table) listing the columns with their
Arrow type, nullability and meaning, and the table's expectations (checked by the validate
stage with Great Expectations). Code reads contracts from here and nowhere else.
"""

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl
import pyarrow as pa
import yaml

# Publication order: facts first, the run record last (it holds the others' versions).
TABLES = (
    "documents",
    "paragraphs",
    "entities",
    "quotes",
    "quantities",
    "duplicates",
    "stories",
    "signatures",
    "quarantine",
    "runs",
)

_PRIMITIVE_TYPES = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "date32": pa.date32(),
    "timestamp[us]": pa.timestamp("us"),
    "timestamp[us, UTC]": pa.timestamp("us", tz="UTC"),
}


# What a failed expectation does, by the key it is listed under in the contract.
EXPECTATION_LEVELS = {
    "row": "a row that fails is quarantined, the others are published",
    "table": "a failure fails the run, nothing of it is published",
}


class ContractError(ValueError):
    """A frame does not match its table's contract, or a contract is malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    type_spec: str
    nullable: bool
    description: str

    @property
    def arrow_type(self) -> pa.DataType:
        return parse_arrow_type(self.type_spec)


WRITE_MODES = {
    "replace": "each run replaces the rows of the documents it processed",
    "overwrite": "each run that changes it rewrites it whole",
    "append": "each run appends its rows",
}


@dataclass(frozen=True)
class Expectation:
    """A Great Expectations expectation as the contract states it: its type, its arguments, its level."""

    type: str
    kwargs: dict
    level: str  # a key of EXPECTATION_LEVELS
    description: str = ""

    @property
    def columns(self) -> list[str]:
        """The columns it checks, in the order its arguments name them."""
        named = [self.kwargs.get(key) for key in ("column", "column_A", "column_B")]
        return [c for c in named if c] + list(self.kwargs.get("column_list", ()))

    def label(self) -> str:
        return f"{self.type} on {', '.join(self.columns) or 'the table'}"


@dataclass(frozen=True)
class Contract:
    table: str
    description: str
    columns: tuple[Column, ...]
    write_mode: str
    write_key: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = field(default=())

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])

    def polars_schema(self, *names: str) -> pl.Schema:
        """The Polars schema of some columns (all when none are named), in the order given."""
        schema = pl.from_arrow(self.arrow_schema.empty_table()).schema
        return pl.Schema({name: schema[name] for name in names or schema.names()})

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def contracts_digest(contracts_dir: Path) -> str:
    """A digest of every contract (schemas/*.yaml): it changes when any contract does."""
    digest = hashlib.sha256()
    for path in sorted(Path(contracts_dir).glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def refused_fingerprint(content_sha256: str, digest: str) -> str:
    """The fingerprint of a file the contracts (of `contracts_digest`) refused: a later run skips the file while it
    and the contracts stay the same, and retries it once a contract changes."""
    return f"{content_sha256} under contracts {digest}"


def load_contract(contracts_dir: Path, table: str) -> Contract:
    """The table's contract. Stages ask for it at every batch (about 140 times in a 2-batch run, 4 ms each to
    parse): it is parsed once per version of the file, so a long-lived process still sees an edited contract."""
    path = Path(contracts_dir) / f"{table}.yaml"
    status = path.stat()
    return _parse_contract(path, status.st_mtime_ns, status.st_size)


@cache
def _parse_contract(path: Path, mtime_ns: int, size: int) -> Contract:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns = tuple(
        Column(c["name"], c["type"], bool(c.get("nullable", True)), c.get("description", "")) for c in spec["columns"]
    )
    for column in columns:
        try:
            column.arrow_type
        except ValueError as error:
            raise ContractError(f"{path}: column {column.name!r}: {error}") from None
    write = spec.get("write", {})
    if write.get("mode") not in WRITE_MODES:
        raise ContractError(f"{path}: write.mode must be one of {', '.join(WRITE_MODES)}")
    if write["mode"] == "replace" and not write.get("key"):
        raise ContractError(f"{path}: write.mode replace needs write.key, the doc_id column(s) rows are replaced by")
    return Contract(
        spec["table"],
        spec.get("description", ""),
        columns,
        write["mode"],
        tuple(write.get("key", ())),
        _expectations(path, spec.get("expectations") or {}),
    )


def _expectations(path: Path, spec: dict) -> tuple[Expectation, ...]:
    """The `expectations:` of a contract: lists of {expectation: <GX type>, <its arguments>} under row and table."""
    unknown = set(spec) - set(EXPECTATION_LEVELS)
    if unknown:
        raise ContractError(f"{path}: expectations has {sorted(unknown)}; list each expectation under row or table")
    expectations = []
    for level, entries in spec.items():
        for entry in entries or ():
            kwargs = dict(entry)
            if not isinstance(kwargs.get("expectation"), str):
                raise ContractError(f"{path}: an expectation under {level} has no `expectation:` type: {entry}")
            expectations.append(Expectation(kwargs.pop("expectation"), kwargs, level, kwargs.pop("description", "")))
    return tuple(expectations)


def parse_arrow_type(spec: str) -> pa.DataType:
    """Read the small type language of the contracts: primitives, list<T>, struct<a: T, ...>, map<K, V>."""
    spec = spec.strip()
    if spec in _PRIMITIVE_TYPES:
        return _PRIMITIVE_TYPES[spec]
    match = re.fullmatch(r"(list|struct|map)<(.+)>", spec)
    if not match:
        raise ValueError(f"unknown type {spec!r}; use one of {', '.join(_PRIMITIVE_TYPES)}, list<>, struct<>, map<>")
    kind, inner = match.groups()
    parts = _split_top_level(inner)
    if kind == "list" and len(parts) == 1:
        return pa.list_(parse_arrow_type(parts[0]))
    if kind == "map" and len(parts) == 2:
        return pa.map_(parse_arrow_type(parts[0]), parse_arrow_type(parts[1]))
    if kind == "struct":
        fields = [part.split(":", 1) for part in parts]
        if all(len(f) == 2 for f in fields):
            return pa.struct([pa.field(name.strip(), parse_arrow_type(type_)) for name, type_ in fields])
    raise ValueError(f"malformed type {spec!r}")


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def conform(table: str, frame: pl.DataFrame | pa.Table, contract: Contract) -> pa.Table:
    """Return `frame` as an Arrow table with exactly the contract's columns, or raise naming the column.

    Nullable columns a stage does not fill yet are added as nulls; an unknown column, a value
    that does not cast to the contract type, or a null in a non-nullable column is an error.
    """
    data = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    expected = {c.name for c in contract.columns}
    unknown = [name for name in data.column_names if name not in expected]
    if unknown:
        raise ContractError(f"table {table!r}: column {unknown[0]!r} is not in its contract (schemas/{table}.yaml)")
    arrays = []
    for column in contract.columns:
        if column.name not in data.column_names:
            if not column.nullable:
                raise ContractError(f"table {table!r}: required column {column.name!r} is missing")
            arrays.append(pa.nulls(data.num_rows, column.arrow_type))
            continue
        values = data.column(column.name)
        try:
            values = values.cast(column.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ContractError(
                f"table {table!r}: column {column.name!r} has type {values.type}, "
                f"which does not convert to {column.type_spec}: {error}"
            ) from None
        if not column.nullable and values.null_count:
            raise ContractError(
                f"table {table!r}: column {column.name!r} is not nullable but has {values.null_count} null value(s)"
            )
        arrays.append(values)
    return pa.Table.from_arrays(arrays, schema=contract.arrow_schema)
