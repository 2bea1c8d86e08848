"""clean: repair Unicode, normalise whitespace, drop boilerplate lines, split paragraphs (newsflow.analysis.cleaning).

Every line removed, and every sentence dropped as a repeat, is recorded in documents.removed_lines
with the rule's name; each paragraph's char_start/char_end index into documents.text. A file with
nothing left after cleaning is quarantined.
"""

import polars as pl

from newsflow import quarantine
from newsflow.analysis.cleaning import CleanArticle, clean_article, load_boilerplate_rules
from newsflow.batch import Batch
from newsflow.contracts import load_contract
from newsflow.runtime.progress import track
from newsflow.settings import Settings


def run(batch: Batch, settings: Settings) -> Batch:
    rules = load_boilerplate_rules(settings.boilerplate_rules)
    documents_contract = load_contract(settings.contracts_dir, "documents")
    cleaned, paragraphs, quarantined = [], [], []
    for doc in track(batch.documents.select("doc_id", "source_uri", "content_sha256", "raw_text").rows(named=True), "clean"):
        article = clean_article(doc["raw_text"], rules, settings.repeated_sentence_similarity)
        if not article.paragraphs:
            quarantined.append(
                quarantine.record(
                    "no_content",
                    source_uri=doc["source_uri"],
                    doc_id=doc["doc_id"],
                    detail=f"{len(article.removed_lines)} line(s) removed",
                    fingerprint=doc["content_sha256"],
                )
            )
            continue
        cleaned.append({"doc_id": doc["doc_id"], **article.document_fields()})
        paragraphs.extend({"doc_id": doc["doc_id"], **row} for row in article.paragraph_rows())
    documents = batch.documents.join(
        pl.DataFrame(cleaned, schema=documents_contract.polars_schema("doc_id", *CleanArticle.DOCUMENT_FIELDS)), on="doc_id", how="inner"
    ).drop("raw_text")
    paragraphs = pl.DataFrame(
        paragraphs,
        schema=load_contract(settings.contracts_dir, "paragraphs").polars_schema("doc_id", *CleanArticle.PARAGRAPH_FIELDS),
    )
    counts = {
        "documents_cleaned": documents.height,
        "lines_removed": int(documents["removed_lines"].list.len().sum() or 0),
        "documents_without_content": len(quarantined),
    }
    return batch.updated(documents=documents, paragraphs=paragraphs, counts=counts, quarantined=quarantined)
