"""The parameters of a run, defined once: the flow's signature (so Prefect's run form and
`prefect deployment run --param` describe and validate them) and `newsflow run --help`."""

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field


def existing_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(
            f"source folder {path} does not exist or is not a folder (relative paths start in {Path.cwd()}); "
            "pass a folder of *.txt articles"
        )
    return path


SourceFolder = Annotated[Path, AfterValidator(existing_folder)]

SOURCE = Field(Path("seeds"), description="Folder of article files; every *.txt under it is read, recursively.")
OUTPUT = Field(
    Path("output"), description="Folder for the Delta Lake tables, one sub-folder per table (created if missing)."
)
FULL_REFRESH = Field(
    False, description="Process every file and rewrite the tables, not only new and changed files."
)
