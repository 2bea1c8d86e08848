"""language: the language of every paragraph and of every document (langdetect, seeded).

Each paragraph is called on its own text (newsflow.analysis.language); the document's
language, probability and is_mixed_lang are derived from its paragraphs' calls. Large
batches are detected in a pool of worker processes, one per core by default.
"""

from functools import partial

import polars as pl

from newsflow.analysis.language import UND, DocumentLanguage, Thresholds, detect_document, load_profiles
from newsflow.batch import Batch
from newsflow.contracts import load_contract
from newsflow.runtime import workers
from newsflow.runtime.progress import track
from newsflow.settings import Settings

# Chunks per worker: enough to even out documents of different lengths, few enough to keep pickling cheap.
_CHUNKS_PER_WORKER = 8


def run(batch: Batch, settings: Settings) -> Batch:
    grouped = batch.paragraphs.group_by("doc_id", maintain_order=True).agg("para_idx", "text")
    results = detect_documents(grouped["text"].to_list(), settings)
    documents_contract = load_contract(settings.contracts_dir, "documents")
    paragraphs_contract = load_contract(settings.contracts_dir, "paragraphs")
    document_langs = pl.DataFrame(
        {
            "doc_id": grouped["doc_id"],
            "lang": [result.lang for result in results],
            "lang_prob": [result.prob for result in results],
            "is_mixed_lang": [result.is_mixed for result in results],
        },
        schema=documents_contract.polars_schema("doc_id", "lang", "lang_prob", "is_mixed_lang"),
    )
    paragraph_langs = pl.DataFrame(
        [
            {"doc_id": doc_id, "para_idx": para_idx, "lang": call.lang, "lang_prob": call.prob}
            for doc_id, para_idxs, result in zip(grouped["doc_id"], grouped["para_idx"], results)
            for para_idx, call in zip(para_idxs, result.paragraphs)
        ],
        schema=paragraphs_contract.polars_schema("doc_id", "para_idx", "lang", "lang_prob"),
    )
    documents = batch.documents.join(document_langs, on="doc_id", how="left")
    paragraphs = batch.paragraphs.join(paragraph_langs, on=["doc_id", "para_idx"], how="left")
    counts = {
        "documents_lang_und": document_langs.filter(pl.col("lang") == UND).height,
        "documents_mixed_lang": document_langs["is_mixed_lang"].sum(),
        "paragraphs_lang_und": paragraph_langs.filter(pl.col("lang") == UND).height,
    }
    return batch.updated(documents=documents, paragraphs=paragraphs, counts=counts)


def detect_documents(documents: list[list[str]], settings: Settings) -> list[DocumentLanguage]:
    """The language of each document (given as its paragraphs' texts), in order.

    A pool of worker processes is started only when the batch is large enough to pay for
    the workers' start-up; spawned workers share nothing with the flow's threads.
    """
    detect = partial(detect_document, thresholds=thresholds(settings))
    distinct = list(dict.fromkeys(map(tuple, documents)))  # a text is detected once: exact copies share its result
    processes = pool_workers(settings, len(distinct))
    chunksize = max(1, len(distinct) // (processes * _CHUNKS_PER_WORKER))
    results = workers.map_in_order(detect, [list(paragraphs) for paragraphs in distinct], processes, "NEWSFLOW_LANGUAGE_WORKERS", chunksize)
    detected = dict(zip(distinct, (result for _, result in zip(track(distinct, "language"), results))))
    return [detected[tuple(paragraphs)] for paragraphs in documents]


def pool_workers(settings: Settings, documents: int) -> int:
    """The worker processes that detect a batch of `documents`; under 2, the flow's process detects them."""
    if documents < settings.language_pool_min_documents:
        return 1
    return min(settings.language_workers, documents)


def start_workers(settings: Settings, documents: int) -> None:
    """Start the workers that will detect a batch of `documents`, loading langdetect's profiles, without waiting."""
    if (processes := pool_workers(settings, documents)) > 1:
        workers.start(processes, load_profiles)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        min_letter_bytes=settings.language_min_letter_bytes,
        min_prob=settings.language_min_prob,
        mixed_min_letters=settings.language_mixed_min_letters,
    )
