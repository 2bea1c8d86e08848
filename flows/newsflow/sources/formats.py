"""Which documents a source file holds, by its format, each with its name (source_uri), fingerprint and article
or refusal: a text file or an HTML page is one document, a JSON Lines, Parquet or WARC file one per record.

`listed` is what the plan needs (every document's name and fingerprint, and the refusals found on the way, without
extracting articles); `read` is what ingest needs (the articles of the chosen documents).
"""

import contextlib
import gzip
import hashlib
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from newsflow.batch import Source
from newsflow.settings import Settings
from newsflow.sources import html, records, warc
from newsflow.sources.files import Listing, Refused, check_location, decode_text, examine, find_files, read_file
from newsflow.storage import stores

TXT, HTML, JSONL, PARQUET, WARC = "txt", "html", "jsonl", "parquet", "warc"
SUFFIXES = {
    ".txt": TXT,
    ".html": HTML,
    ".htm": HTML,
    ".html.gz": HTML,
    ".htm.gz": HTML,
    ".jsonl": JSONL,
    ".jsonl.gz": JSONL,
    ".parquet": PARQUET,
    ".warc": WARC,
    ".warc.gz": WARC,
}
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
# A document: its source_uri, fingerprint, and its article (dict), its refusal, or None (listed, not read).
Entry = tuple[str, str, dict | Refused | None]


def source_format(path: "Path | str") -> str | None:
    name = stores.name(path).lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def find_source_files(source_dir: Path) -> Listing:
    """Every file of a known format under source_dir, recursively, in a stable order (broken symlinks included)."""
    return find_files(source_dir, lambda name: source_format(Path(name)) is not None)


def listed(path: Path, source_uri: str, settings: Settings, counts: dict[str, int]) -> Iterator[Entry]:
    """The documents of a file, with their fingerprints; a text file's article is read too (as it always was)."""
    return _entries(path, source_uri, settings, counts, None)


def read(path: Path, sources: Sequence[Source], settings: Settings) -> Iterator[tuple[Source, str, dict | Refused]]:
    """The article, or refusal, of each of `sources` (documents of the file at `path`) as the file holds it now.

    A document no longer in the file is refused as it would be by the plan (its file's refusal, or `not_found`)."""
    wanted = {source.source_uri: source for source in sources}
    found = {}
    for source_uri, fingerprint, outcome in _entries(path, sources[0].source_uri.split("#")[0], settings, {}, wanted):
        if source_uri in wanted:
            found[source_uri] = (fingerprint, outcome)
    container = found.get(sources[0].source_uri.split("#")[0])
    for source in sources:
        fingerprint, outcome = found.get(source.source_uri) or container or ("", Refused("record_not_found", source.source_uri))
        yield source, fingerprint, outcome


def _entries(path: Path, source_uri: str, settings: Settings, counts: dict[str, int], wanted: dict | None) -> Iterator[Entry]:
    fmt = source_format(path)
    if fmt == TXT:
        fingerprint, outcome = examine(path, settings.source_dir, settings.max_file_bytes)
        yield source_uri, fingerprint, outcome if isinstance(outcome, Refused) else {**outcome, "source_format": TXT}
        return
    if fmt == HTML:
        yield _html_file(path, source_uri, settings, wanted is not None)
        return
    reader = {JSONL: _jsonl_entries, PARQUET: _parquet_entries, WARC: _warc_entries}[fmt]
    try:
        check_location(path, settings.source_dir)
        yield from reader(path, source_uri, settings, counts, wanted)
    except Refused as refused:  # the file itself: it cannot be opened, or it breaks after its readable records
        yield source_uri, f"{refused.code}: {refused.detail}", refused


def _html_file(path: Path, source_uri: str, settings: Settings, extract: bool) -> Entry:
    try:
        data = read_file(path, settings.source_dir, settings.max_file_bytes)
        if str(path).lower().endswith(".gz"):
            data = _gunzip(data, settings.max_file_bytes)
    except Refused as refused:
        return source_uri, f"{refused.code}: {refused.detail}", refused
    fingerprint = hashlib.sha256(data).hexdigest()
    return source_uri, fingerprint, _page_article(data, None, settings) if extract else None


def _page_article(data: bytes, url: str | None, settings: Settings) -> dict | Refused:
    """The document of an HTML page: its article under its headline, and what the page states about it."""
    try:
        text, encoding, replaced = decode_text(data)
        page = html.read_page(text, url)
    except Refused as refused:
        return refused
    except html.NoArticle as error:
        return Refused("no_article", str(error))
    return {
        **_provenance(data, encoding, HTML),
        "replaced_bytes": replaced,
        # Blank lines keep paragraphs apart: the clean stage then splits them as the page did.
        "raw_text": "\n\n".join([page.title, *page.paragraphs] if page.title else page.paragraphs),
        "url": page.url or url,
        "site_name": page.site_name,
        "authors": page.authors or None,
        "byline": ", ".join(page.authors) or None,
        "published_at": page.published_at,
        "published_at_raw": page.published_on.isoformat() if page.published_on else None,
        "declared_lang": page.declared_lang,
        "captions": page.captions or None,
        "page_chars": page.page_chars,
        "dropped_chars": page.dropped_chars,
    }


def _jsonl_entries(path, source_uri, settings, counts, wanted) -> Iterator[Entry]:
    mapping = records.field_mapping(settings.record_fields)
    gzipped = str(path).lower().endswith(".gz")
    last_line = max((int(uri.rsplit("#L", 1)[1]) for uri in wanted if "#L" in uri), default=0) if wanted else None
    place = "its first line"
    try:
        with stores.open_input(path) as raw, gzip.open(raw) if gzipped else contextlib.nullcontext(raw) as stream:
            for record in records.json_lines(stream, settings.max_file_bytes):
                place = f"line {record.place[1:]}"
                yield _record_entry(record, source_uri, mapping, wanted)
                if last_line is not None and int(record.place[1:]) >= last_line:
                    return
    except _GZIP_ERRORS as error:
        raise Refused("broken_gzip", f"after {place}: {error}") from None
    except OSError as error:
        raise Refused("unreadable", str(error)) from None


def _parquet_entries(path, source_uri, settings, counts, wanted) -> Iterator[Entry]:
    mapping = records.field_mapping(settings.record_fields)
    try:
        rows = records.parquet_rows(path, mapping)
        yield from (_record_entry(record, source_uri, mapping, wanted) for record in rows)
    except (OSError, ValueError) as error:  # pyarrow's ArrowIOError is an OSError, ArrowInvalid a ValueError
        raise Refused("unreadable_parquet", str(error)) from None


def _record_entry(record: records.Record, file_uri: str, mapping: dict, wanted: dict | None) -> Entry:
    source_uri = f"{file_uri}#{record.place}"
    if record.fields is None:
        return source_uri, record.sha256, Refused("malformed_record", record.problem)
    if wanted is not None and source_uri not in wanted:
        return source_uri, record.sha256, None
    found = records.article(record.fields, mapping)
    if found is None:
        fields = ", ".join(mapping["text"])
        return source_uri, record.sha256, Refused("record_without_text", f"no text in {fields} ({record.place})")
    return source_uri, record.sha256, {**_provenance_of(record.sha256, record.size, "utf-8", _format_of(file_uri)), **found}


def _warc_entries(path, source_uri, settings, counts, wanted) -> Iterator[Entry]:
    def entry(response: warc.Response) -> Entry:
        uri = f"{source_uri}#offset={response.offset}"
        if response.payload is None:
            return uri, response.sha256, None
        found = _page_article(response.payload, response.target_uri, settings)
        if isinstance(found, dict):
            found = {**found, **_provenance_of(response.sha256, response.size, found["encoding"], WARC)}
            found |= {"fetched_url": response.target_uri, "fetched_at": response.fetched_at}
        return uri, response.sha256, found

    try:
        with stores.open_input(path) as stream:
            if wanted is None:
                yield from map(entry, warc.responses(stream, False, settings.max_file_bytes, counts))
                return
            for uri in wanted:
                offset = int(uri.rsplit("#offset=", 1)[1]) if "#offset=" in uri else None
                if offset is not None and (response := warc.response_at(stream, offset, settings.max_file_bytes)):
                    yield entry(response)
    except warc.TruncatedRecord as truncated:
        refused = Refused("truncated_warc_record", f"{truncated.place}: {truncated}")
        yield f"{source_uri}#{truncated.place}", f"{refused.code}: {refused.detail}", refused
    except OSError as error:
        raise Refused("unreadable", str(error)) from None


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    try:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        page = decompressor.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise Refused("broken_gzip", str(error)) from None
    if len(page) > max_bytes:
        raise Refused("too_large", f"more than {max_bytes} bytes once decompressed")
    if not decompressor.eof:
        raise Refused("broken_gzip", f"the stream ends early, after {len(page)} bytes")
    return page


def _provenance(data: bytes, encoding: str, fmt: str) -> dict:
    return _provenance_of(hashlib.sha256(data).hexdigest(), len(data), encoding, fmt)


def _provenance_of(sha256: str, size: int, encoding: str, fmt: str) -> dict:
    return {"content_sha256": sha256, "size_bytes": size, "encoding": encoding, "source_format": fmt}


def _format_of(file_uri: str) -> str:
    return source_format(Path(file_uri)) or ""

