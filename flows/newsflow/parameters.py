"""The parameters of a run: the flow's signature (so Prefect's run form and `prefect deployment
run --param` describe and validate them) and `newsflow run --help`, both from Settings."""

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from newsflow.settings import Settings


def existing_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(
            f"source folder {path} does not exist or is not a folder (relative paths start in {Path.cwd()}); "
            "pass a folder of *.txt articles"
        )
    return path


def _setting(name: str):
    """A parameter with the default and description of the setting it sets."""
    setting = Settings.model_fields[name]
    return Field(setting.default, description=setting.description)


SourceFolder = Annotated[Path, AfterValidator(existing_folder)]
BatchSize = Annotated[int, Field(gt=0)]

SOURCE = _setting("source_dir")
OUTPUT = _setting("output_dir")
FULL_REFRESH = _setting("full_refresh")
BATCH_SIZE = _setting("batch_size")
