"""Why a file or a row is not published: the registry of quarantine codes, and the one way a record is made.

Every stage that refuses something calls `record(code, ...)`; the code's stage and reason come from
`CODES`, so a code means the same wherever it is raised, and the data dictionary lists them all.
"""

from dataclasses import dataclass

import polars as pl

SCHEMA = {
    "run_id": pl.String,
    "stage": pl.String,
    "source_uri": pl.String,
    "doc_id": pl.String,
    "code": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "fingerprint": pl.String,
    "table_name": pl.String,
    "expectation": pl.String,
    "column_name": pl.String,
    "value": pl.String,
}


@dataclass(frozen=True)
class Code:
    """A quarantine code: the stage that raises it, what happened, and what to do about it."""

    stage: str
    happened: str
    to_do: str

    def reason(self) -> str:
        return f"{self.happened}: {self.to_do}"


CODES = {
    "broken_symlink": Code("ingest", "broken symbolic link", "point it at an existing article or remove it"),
    "outside_source": Code(
        "ingest", "the file lies outside the source folder (a symbolic link out of it); it was not read", "copy the file into the source folder"
    ),
    "invalid_name": Code("ingest", "the file name is not valid UTF-8 (shown escaped)", "rename the file"),
    "unreadable_folder": Code(
        "ingest",
        "a folder of the source cannot be read; its files were not seen and none of its documents is marked deleted",
        "check the folder's permissions",
    ),
    "unreadable": Code("ingest", "file cannot be read", "check its permissions and the disk"),
    "not_a_file": Code("ingest", "not a regular file", "keep only article files in the source folder"),
    "too_large": Code("ingest", "file is over the size limit", "split it into articles or raise NEWSFLOW_MAX_FILE_BYTES"),
    "empty_file": Code("ingest", "file is empty", "add the article text or remove the file"),
    "binary_file": Code("ingest", "binary file, not text", "move it out of the source folder"),
    "undecodable": Code("ingest", "text encoding not recognised", "re-save the file as UTF-8"),
    "broken_gzip": Code(
        "ingest", "gzip stream is broken or cut short", "fetch or compress the file again; the records before the break were read"
    ),
    "no_article": Code(
        "ingest",
        "the page holds no text the extractor recognises as an article",
        "check that it is an article page, not an index, login or error page",
    ),
    "malformed_record": Code("ingest", "the line is not a JSON object", "fix the record or the program that exported it"),
    "record_without_text": Code(
        "ingest",
        "the record has no article text in the fields its text is read from",
        "name the record's text field in the record_fields YAML (NEWSFLOW_RECORD_FIELDS), or fix the record",
    ),
    "record_not_found": Code("ingest", "the record is no longer in its file", "nothing to do: the next run will not look for it"),
    "unreadable_parquet": Code("ingest", "the Parquet file cannot be read", "export the file again"),
    "truncated_warc_record": Code(
        "ingest",
        "the WARC record is cut short or malformed; the records after it cannot be found",
        "fetch or write the WARC file again; the records before it were read",
    ),
    "no_content": Code("clean", "nothing is left after removing boilerplate", "check the file holds an article"),
    "too_long_for_ner": Code(
        "extract",
        "text is longer than the NER model reads",
        "it is published without entities, quotes or quantities; split the article into smaller files",
    ),
    "extraction_failed": Code(
        "extract",
        "extraction failed on this document",
        "it is published without header fields, entities, quotes or quantities; report the file with this detail",
    ),
    "failed_expectation": Code(
        "validate",
        "the row fails a row expectation of its table's contract",
        "it is not published; fix the article, or the expectation in schemas/<table>.yaml if it is wrong",
    ),
    "withheld_with_document": Code(
        "validate",
        "the row belongs to a document that failed validation",
        "it is not published; see the document's failed_expectation record",
    ),
}


def record(code: str, *, reason: str | None = None, **fields: str | None) -> dict:
    """A quarantine record (every SCHEMA field but run_id, which the batch adds) for a registered code.

    `reason` replaces the code's generic one when the case can say more (which expectation failed);
    it must still say what to do.
    """
    registered = CODES[code]
    unknown = set(fields) - set(SCHEMA)
    if unknown:
        raise TypeError(f"not quarantine fields: {sorted(unknown)}")
    return {**dict.fromkeys(SCHEMA), **fields, "stage": registered.stage, "code": code, "reason": reason or registered.reason()}

