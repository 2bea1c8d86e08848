"""The parameters of a run: the flow's signature (so Prefect's run form and `prefect deployment
run --param` describe and validate them) and `newsflow run --help`, both from Settings.

A parameter left out (None) takes its setting: the NEWSFLOW_* variable, else the setting's default.
"""

import os
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from newsflow.settings import Location, Settings
from newsflow.storage.stores import is_remote


def existing_folder(path: Location) -> Location:
    if not is_remote(path) and not path.is_dir():  # a store's prefix is checked by storage.stores.check_object_stores
        raise ValueError(
            f"source folder {path} does not exist or is not a folder (relative paths start in {Path.cwd()}); "
            "pass a folder of article files"
        )
    return path


def readable_source(path: Location) -> Location:
    """A source folder holding at least one file of a format the pipeline reads (the walk stops at the first)."""
    from newsflow.sources.formats import SUFFIXES, source_format

    if is_remote(existing_folder(path)):
        return path
    if not any(source_format(Path(name)) for _, _, names in os.walk(path) for name in names):
        raise ValueError(
            f"source folder {path} holds no article file the pipeline reads; pass a folder of "
            f"{', '.join('*' + suffix for suffix in SUFFIXES)} files"
        )
    return path


def writable_output(path: Location) -> Location:
    """An output folder the run may write into, or create (nothing is created here): checked before a run starts.
    A store's location is checked by storage.stores.check_object_stores."""
    if is_remote(path):
        return path
    if path.exists() and not path.is_dir():
        raise ValueError(f"output {path} is a file, not a folder; pass --output a folder (it is created if missing)")
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is a file")
        tempfile.TemporaryFile(dir=existing).close()  # permissions say too little (root, read-only mounts, /proc)
    except OSError as error:
        raise ValueError(
            f"output folder {path} cannot be created or written ({error.strerror or error}); pass --output a folder you may write to"
        ) from None
    return path


def _setting(name: str):
    """A parameter described by the setting it sets, which it leaves to the environment when not given."""
    setting = Settings.model_fields[name]
    return Field(None, description=f"{setting.description} Default: NEWSFLOW_{name.upper()}, else {setting.default}.")


# The flow's parameters are named as the settings they set, but for the two folders.
_SETTING_OF = {"source": "source_dir", "output": "output_dir"}


def run_settings(**given) -> Settings:
    """The settings of a run: the flow parameters given (source, output, full_refresh, ...), the environment
    (NEWSFLOW_*) and the defaults for the rest."""
    return Settings(**{_SETTING_OF.get(name, name): value for name, value in given.items() if value is not None})


SourceFolder = Annotated[Location, AfterValidator(readable_source)]
OutputFolder = Annotated[Location, AfterValidator(writable_output)]
BatchSize = Annotated[int, Field(gt=0)]

SOURCE = _setting("source_dir")
OUTPUT = _setting("output_dir")
FULL_REFRESH = _setting("full_refresh")
BATCH_SIZE = _setting("batch_size")
ALLOW_MASS_DELETE = _setting("allow_mass_delete")
