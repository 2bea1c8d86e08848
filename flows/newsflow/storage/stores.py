"""Where newsflow's data lives: a local folder, or a prefix of an object store (s3://bucket/prefix, and gs://,
az://... as pyarrow, deltalake and obstore support them).

Files (source files, staged parts, the Delta tables' data files) are read and written through pyarrow.fs, the
Delta logs by deltalake, the output lock by obstore (a create-only put: newsflow.storage.lock). All three take the
endpoint and credentials from the standard environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION (and AWS_ALLOW_HTTP=true for a plain-HTTP endpoint such as a local S3-compatible server).
"""

import functools
import os
import re
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pyarrow.fs as pafs

# A local folder is a Path; a store's location is its URI, kept as written (a Path would fold "s3://" into "s3:/").
Location = Path | str


def location(value: "Location | os.PathLike") -> Location:
    """The location a setting or an option names: a URI as it is, anything else as a local Path."""
    return value.rstrip("/") if isinstance(value, str) and is_remote(value) else Path(value)


def is_remote(place: "Location | os.PathLike") -> bool:
    return "://" in str(place) and not str(place).startswith("file://")


def join(place: Location, *parts: str) -> Location:
    """`place` / parts: a URI for a store's location, a Path for a folder. Every table and file of a store is reached
    through join or filesystem, which first give the process its AWS credentials (_credentials_once)."""
    if is_remote(place):
        _credentials_once()
        return "/".join([str(place).rstrip("/"), *parts])
    return Path(place, *parts)


def name(place: Location) -> str:
    return PurePosixPath(str(place)).name


def filesystem(place: Location) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system holding `place`, and its path there."""
    if not is_remote(place):
        return pafs.LocalFileSystem(), str(place)
    _credentials_once()
    scheme, rest = str(place).split("://", 1)
    return _store_filesystem(f"{scheme}://{rest.split('/', 1)[0]}", os.environ.get("AWS_ENDPOINT_URL")), rest


@functools.lru_cache(maxsize=8)
def _store_filesystem(root: str, endpoint: str | None) -> pafs.FileSystem:
    """One file system per bucket and endpoint in a process (creating one asks the store for the bucket's region)."""
    return pafs.FileSystem.from_uri(root)[0]


def is_dir(place: Location) -> bool:
    fs, path = filesystem(place)
    return fs.get_file_info(path).type == pafs.FileType.Directory


def exists(place: Location) -> bool:
    fs, path = filesystem(place)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def remove_tree(place: Location) -> None:
    """Remove a folder (or every object under a prefix) and what it holds; nothing when it is not there."""
    fs, path = filesystem(place)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)


def remove_file(place: Location) -> None:
    fs, path = filesystem(place)
    if fs.get_file_info(path).type == pafs.FileType.File:
        fs.delete_file(path)


def files_under(place: str) -> list[str]:
    """The URIs of every object under a store's prefix, sorted."""
    fs, path = filesystem(place)
    scheme = str(place).split("://", 1)[0]
    found = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    return sorted(f"{scheme}://{info.path}" for info in found if info.type == pafs.FileType.File)


def file_size(place: str) -> int:
    """The size of an object; FileNotFoundError when there is none."""
    fs, path = filesystem(place)
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        raise FileNotFoundError(f"{place} is not an object")
    return info.size


def open_input(place: Location) -> BinaryIO:
    """A file or an object opened for reading, seekable."""
    if not is_remote(place):
        return open(place, "rb")
    fs, path = filesystem(place)
    return fs.open_input_file(path)


def open_output(place: Location):
    fs, path = filesystem(place)
    return fs.open_output_stream(path)


# The check before a run: a store that does not answer is reported in seconds, not after the clients' retries.
CHECK_TIMEOUT = timedelta(seconds=10)


def check_object_stores(source: Location, output: Location) -> None:
    """check_object_store for the source and the output, where they are on a store; the source must hold objects."""
    for place, role in ((source, "source"), (output, "output")):
        if is_remote(place):
            check_object_store(str(place), role, must_hold_objects=role == "source")


@functools.cache  # once per process: botocore's chain may ask the network (SSO, instance metadata); an error is not kept
def _credentials_once() -> None:
    export_aws_credentials()


def export_aws_credentials() -> None:
    """Without AWS_ACCESS_KEY_ID, the credentials botocore's chain finds (a profile of ~/.aws named by AWS_PROFILE, SSO, a
    role) and the profile's region become this process's AWS_* variables, which pyarrow, deltalake and obstore all read
    (deltalake's and obstore's clients do not read profiles). Temporary credentials are not renewed during the run."""
    if "AWS_ACCESS_KEY_ID" in os.environ:
        return
    import botocore.exceptions
    import botocore.session

    session = botocore.session.get_session()
    try:
        credentials = session.get_credentials()
        if credentials is None:
            return
        frozen = credentials.get_frozen_credentials()
    except botocore.exceptions.BotoCoreError as error:  # a missing or broken profile
        raise ValueError(f"AWS credentials: {error}; set AWS_PROFILE to a profile of ~/.aws, or AWS_ACCESS_KEY_ID") from None
    found = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key, "AWS_SESSION_TOKEN": frozen.token}
    found["AWS_REGION"] = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    os.environ.update({name: value for name, value in found.items() if value})


def check_object_store(place: str, role: str, must_hold_objects: bool = False) -> None:
    """Stop before any work when a store's location cannot be used: its bucket is missing, the credentials are
    refused, the endpoint does not answer (or, with must_hold_objects, nothing is under the prefix). Raises
    ValueError with one line saying which and what to do; `role` names the location (source, output)."""
    import obstore
    from obstore.store import from_url

    _credentials_once()
    scheme, rest = place.split("://", 1)
    bucket = rest.split("/", 1)[0]
    store = from_url(
        f"{scheme}://{bucket}",
        # client options given replace the environment's: AWS_ALLOW_HTTP is passed on
        client_options={"timeout": CHECK_TIMEOUT, "connect_timeout": CHECK_TIMEOUT, "allow_http": os.environ.get("AWS_ALLOW_HTTP", "false")},
        retry_config={"max_retries": 1, "retry_timeout": CHECK_TIMEOUT, "backoff": {"init_backoff": timedelta(milliseconds=100)}},
    )
    try:
        found = next(iter(obstore.list(store, prefix=rest.split("/", 1)[1] if "/" in rest else None, chunk_size=1)), [])
    except Exception as error:  # obstore's errors name the store's answer; one line of it says what to fix
        text = str(error)
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"the {scheme} endpoint"
        # the store's status code as obstore prints it (a bare "401" also matched a duration such as "in 401.2µs")
        status = re.search(r"status code: (\d{3})", text)
        if "NoSuchBucket" in text or (status and status.group(1) == "404"):
            problem = f"bucket {bucket} does not exist at {endpoint}; create it, or correct the {role} location"
        elif any(code in text for code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")) or (
            status and status.group(1) in ("401", "403")
        ):
            problem = f"the credentials were refused by {endpoint} for bucket {bucket}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        elif any(word in text.lower() for word in ("connect", "timed out", "dns", "error sending request")):
            problem = f"{endpoint} does not answer; check AWS_ENDPOINT_URL and the network"
        else:
            problem = text.splitlines()[0]
        raise ValueError(f"{role} {place}: {problem}; nothing was read or written") from None
    if must_hold_objects and not found:
        raise ValueError(f"{role} {place}: there is nothing under this prefix; check the bucket and the prefix")
