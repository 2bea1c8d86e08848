"""What a run counts: the registry of the counters in runs.counts, each in its group and saying what it counts.

The run summary (the command's and the UI's) shows them by group, and the data dictionary lists them all.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Counter:
    group: str
    counts: str


GROUPS = ("files", "languages", "duplicates", "extraction", "validation", "tables")

COUNTERS = {
    "files_seen": Counter("files", "Files of a format the pipeline reads in the source folder (a JSONL, Parquet or WARC file counts once)."),
    "files_new": Counter("files", "Documents (a text or HTML file, or one record of a JSONL, Parquet or WARC file) no earlier run saw."),
    "files_changed": Counter("files", "Documents an earlier run saw whose content has changed since."),
    "files_unchanged": Counter("files", "Documents skipped: their content (or their refusal) is what an earlier run saw."),
    "files_removed": Counter("files", "Published documents whose file or record is gone: marked is_deleted."),
    "files_quarantined": Counter("files", "Files, records and sub-folders refused on reading (plan and ingest): see the quarantine table."),
    "warc_records_not_html": Counter("files", "WARC records skipped because they are not HTML responses (requests, metadata, images...)."),
    "warc_records_too_large": Counter("files", "WARC HTML responses skipped because their payload exceeds max_file_bytes."),
    "documents_cleaned": Counter("files", "Documents read that kept content after cleaning (boilerplate removed, paragraphs split)."),
    "lines_removed": Counter("files", "Boilerplate lines removed from the cleaned documents (documents.removed_lines)."),
    "documents_without_content": Counter("files", "Documents quarantined by the clean stage: nothing but boilerplate or blank lines."),
    "documents_lang_und": Counter("languages", "Cleaned documents whose language is undetermined (lang und)."),
    "documents_mixed_lang": Counter("languages", "Cleaned documents with a long paragraph in another language (is_mixed_lang)."),
    "paragraphs_lang_und": Counter("languages", "Paragraphs of the cleaned documents whose language is undetermined."),
    "documents_signed": Counter("duplicates", "Documents given a signature (text hash, shingles, story terms) to compare."),
    "exact_duplicates": Counter("duplicates", "Documents of the run with the same normalised text as an earlier document (exact_dup_of)."),
    "near_duplicates": Counter(
        "duplicates", "Documents of the run in an earlier document's near-duplicate group that are not exact copies of one."
    ),
    "duplicate_pairs": Counter("duplicates", "Exact and near duplicate pairs involving a document of the run (rows of duplicates)."),
    "earlier_documents_regrouped": Counter("duplicates", "Documents of earlier runs whose exact or near duplicate fields changed."),
    "stories": Counter("duplicates", "Stories the run wrote: those its documents, or earlier documents that moved story, enter or leave (the others are kept as they are)."),
    "earlier_documents_compared": Counter(
        "duplicates", "Documents of earlier runs the groups stage compared with the run's (those sharing a band or a story term)."
    ),
    "earlier_documents_moved_story": Counter("duplicates", "Documents of earlier runs whose story_id changed."),
    "documents_extracted": Counter("extraction", "Documents whose headers, quotes, entities and quantities were extracted."),
    "documents_not_english": Counter("extraction", "Extracted documents not in English: headers only, no quotes, entities or quantities."),
    "documents_with_published_at": Counter("extraction", "Extracted documents with a publication time (published_at)."),
    "captions": Counter("extraction", "Paragraphs recognised as picture captions."),
    "standfirsts": Counter("extraction", "Paragraphs recognised as standfirsts (the summary under a headline)."),
    "entities": Counter("extraction", "Named entities found (rows of entities)."),
    "quotes": Counter("extraction", "Quotes found (rows of quotes)."),
    "quotes_with_speaker": Counter("extraction", "Quotes whose speaker was found."),
    "quantities": Counter("extraction", "Numbers with their unit found (rows of quantities)."),
    "documents_extraction_incomplete": Counter("extraction", "Documents quarantined because a step of the extraction failed."),
    "expectations_evaluated": Counter("validation", "Expectation checks run, summed over every batch and table validated."),
    "rows_failed_validation": Counter("validation", "Rows quarantined because they failed a row-level expectation."),
    "rows_withheld_with_document": Counter("validation", "Rows not published because their document failed an expectation."),
    "quarantined": Counter("validation", "Rows the run added to the quarantine table, from every stage."),
    "documents_published": Counter("tables", "Documents the run published: new and changed ones, not those marked deleted."),
    "tables_changed": Counter("tables", "Tables the run gave a new version, runs not included."),
}


def grouped(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """The counts by group, in the registry's order; a counter missing from the registry is an error of the code."""
    unknown = sorted(set(counts) - set(COUNTERS))
    if unknown:
        raise KeyError(f"counters {unknown} are not in newsflow.counters.COUNTERS")
    return {
        group: {name: counts[name] for name, counter in COUNTERS.items() if counter.group == group and name in counts}
        for group in GROUPS
    }
