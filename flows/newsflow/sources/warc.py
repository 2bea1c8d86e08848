"""Reading WARC files (`*.warc`, `*.warc.gz`) with warcio: each HTML response is a page (newsflow.sources.html),
named by its file and its record's offset (`crawl.warc.gz#offset=1234`), with its target URI and fetch date.

Records are read one after another from the file (never the whole file); a record is read again by seeking to its
offset, which a `.warc.gz` of one gzip member per record (the standard) allows.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Response:
    """An HTML response of a WARC file: its offset, target URI, fetch time, and the page's bytes (or their size
    only, and hash, when read without them)."""

    offset: int
    target_uri: str | None
    fetched_at: datetime | None
    sha256: str
    size: int
    payload: bytes | None


class TruncatedRecord(Exception):
    """A record that ends early or cannot be parsed: where it is (`offset=N`, or `after=N` when only the end of
    the record before it is known) and what went wrong."""

    def __init__(self, place: str, detail: str):
        super().__init__(detail)
        self.place = place


def responses(stream: BinaryIO, keep_payload: bool, max_payload_bytes: int, skipped: dict[str, int]) -> Iterator[Response]:
    """The HTML responses of a WARC stream, in order; every other record is counted in `skipped` by its kind
    (`warc_records_not_html`, `warc_records_too_large`). A truncated record raises TruncatedRecord (what follows it
    cannot be found)."""
    records = ArchiveIterator(stream)
    end = 0  # where the last complete record ends
    try:
        for record in records:
            content_type = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
            if record.rec_type != "response" or not content_type.lower().startswith(_HTML_TYPES):
                skipped["warc_records_not_html"] = skipped.get("warc_records_not_html", 0) + 1
                continue
            payload = record.content_stream().read(max_payload_bytes + 1)
            offset = records.get_record_offset()  # after the read: warcio reads the record to its end to know it
            if len(payload) > max_payload_bytes:
                skipped["warc_records_too_large"] = skipped.get("warc_records_too_large", 0) + 1
                continue
            if missing := record.raw_stream.limit:  # what its Content-Length promised and the file does not hold
                raise TruncatedRecord(f"offset={offset}", f"{missing} of its {record.length} bytes are missing")
            end = offset + records.get_record_length()
            yield Response(
                offset,
                record.rec_headers.get_header("WARC-Target-URI"),
                _warc_date(record.rec_headers.get_header("WARC-Date")),
                hashlib.sha256(payload).hexdigest(),
                len(payload),
                payload if keep_payload else None,
            )
    except TruncatedRecord:
        raise
    except Exception as error:  # warcio raises ArchiveLoadFailed, EOFError, zlib and gzip errors on a cut or bad record
        raise TruncatedRecord(f"after={end}", f"{type(error).__name__}: {error}") from None


def response_at(stream: BinaryIO, offset: int, max_payload_bytes: int) -> Response | None:
    """The HTML response at an offset of a WARC file, or None when there is none there now."""
    stream.seek(offset)
    skipped: dict[str, int] = {}
    found = next(responses(stream, True, max_payload_bytes, skipped), None)
    return found if found is not None and not skipped else None


def _warc_date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
