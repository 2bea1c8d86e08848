"""Reading article records: JSON Lines (`*.jsonl`, `*.jsonl.gz`) and Parquet (`*.parquet`) files, one document per
record, streamed (a file is never read whole).

Which field of a record holds which part of the article is a mapping: the defaults (rules/record_fields.yaml)
fit news-please, Fundus and CC-NEWS exports; a YAML file of the user's (setting record_fields) names other fields. A record is named by its file and its
place in it: `feed.jsonl#L12` (its line, from 1), `feed.parquet#row=3` (its row, from 0).
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from newsflow.storage import stores

DEFAULT_FIELDS = Path(__file__).resolve().parents[1] / "rules" / "record_fields.yaml"
PARQUET_ROWS_PER_READ = 1_000


@dataclass(frozen=True)
class Record:
    """One record as read: its place in its file (`L12`, `row=3`), its bytes' hash and size, and its fields (None
    when it is not a JSON object: `problem` then says why)."""

    place: str
    sha256: str
    size: int
    fields: dict | None
    problem: str = ""


def field_mapping(path: Path) -> dict[str, list[str]]:
    """Each article field and the record fields that may hold it: the defaults (rules/record_fields.yaml) with the
    given file's entries in their place."""
    mapping = _field_lists(DEFAULT_FIELDS)
    if Path(path).resolve() == DEFAULT_FIELDS:
        return mapping
    given = _field_lists(path)
    unknown = set(given) - set(mapping)
    if unknown:
        raise ValueError(f"{path}: unknown article fields {sorted(unknown)}; map some of {sorted(mapping)}")
    return mapping | given


def _field_lists(path: Path) -> dict[str, list[str]]:
    given = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {name: [fields] if isinstance(fields, str) else list(fields) for name, fields in given.items()}


def json_lines(stream: Iterable[bytes], max_record_bytes: int) -> Iterator[Record]:
    """The records of a JSON Lines stream, one per non-blank line (a stream that breaks raises where it breaks)."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        place, sha256 = f"L{number}", hashlib.sha256(line).hexdigest()
        if len(line) > max_record_bytes:
            yield Record(place, sha256, len(line), None, f"line {number} is {len(line)} bytes, limit {max_record_bytes}")
            continue
        try:
            fields = json.loads(line)
        except ValueError as error:
            yield Record(place, sha256, len(line), None, f"line {number}: {error}")
            continue
        if not isinstance(fields, dict):
            yield Record(place, sha256, len(line), None, f"line {number} is a JSON {type(fields).__name__}, not an object")
            continue
        yield Record(place, sha256, len(line), fields)


def parquet_rows(path: Path, mapping: dict[str, list[str]]) -> Iterator[Record]:
    """The rows of a Parquet file, PARQUET_ROWS_PER_READ at a time, with only the columns the mapping names."""
    with stores.open_input(path) as handle:  # closed when the rows are read, or the reading stops
        parquet = pq.ParquetFile(handle)
        wanted = {name for fields in mapping.values() for name in fields}
        columns = [name for name in parquet.schema_arrow.names if name in wanted]
        number = 0
        for part in parquet.iter_batches(batch_size=PARQUET_ROWS_PER_READ, columns=columns):
            for fields in part.to_pylist():
                encoded = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
                yield Record(f"row={number}", hashlib.sha256(encoded).hexdigest(), len(encoded), fields)
                number += 1


def article(fields: dict, mapping: dict[str, list[str]]) -> dict | None:
    """A record's article: its text lines under its title, and the metadata it states; None when it holds no text."""
    found = {name: next((fields[f] for f in names if fields.get(f) not in (None, "", [])), None) for name, names in mapping.items()}
    text = found["text"]
    if not isinstance(text, str) or not text.strip():
        return None
    title = found["title"] if isinstance(found["title"], str) and found["title"].strip() else None
    published_at, published_at_raw = _timestamp(found["published_at"])
    authors = found["authors"]
    authors = [a for a in (authors if isinstance(authors, list) else [authors]) if isinstance(a, str) and a.strip()] if authors else []
    return {
        # A blank line keeps the clean stage from joining the title to the first line of the text.
        "raw_text": f"{title}\n\n{text}" if title else text,
        "url": _text(found["url"]),
        "site_name": _text(found["site_name"]),
        "authors": authors or None,
        "byline": ", ".join(authors) or None,
        "published_at": published_at,
        "published_at_raw": published_at_raw,
        "declared_lang": _text(found["declared_lang"]),
    }


def _timestamp(value) -> tuple[datetime | None, str | None]:
    """A record's publication time as written (no time zone is assumed: an offset is dropped, the clock kept)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None), value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None, None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=None), value
    except ValueError:
        return None, value


def _text(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
