"""Reading article files: which files a source folder holds, their ids, bytes and text, or why not.

A file that cannot become a document raises `Refused` with its quarantine code; nothing here stops a run.
"""

import codecs
import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from newsflow import quarantine
from newsflow.batch import Source
from newsflow.storage import stores

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # all but tab, newlines and form feeds
_LETTERS = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTERS = re.compile(r"[^\W\d_a-zA-Z]")
_MAX_NON_ASCII_SHARE = 0.3
# A text in which more than this share of characters are control characters is not prose.
_MAX_CONTROL_SHARE = 0.01


@dataclass
class Refused(Exception):
    """A file that cannot become a document: its quarantine code (see newsflow.quarantine.CODES) and the detail."""

    code: str
    detail: str = ""

    def record(self, source: Source, fingerprint: str) -> dict:
        """The file's quarantine record; its fingerprint lets later runs skip the file while it stays the same."""
        return quarantine.record(
            self.code, source_uri=source.source_uri, doc_id=source.doc_id, detail=self.detail, fingerprint=fingerprint
        )


def examine(path: Path, source_dir: Path, max_file_bytes: int) -> tuple[str, dict | Refused]:
    """A file's fingerprint (its SHA-256, or its problem if it cannot be read) and its article or refusal."""
    try:
        data = read_file(path, source_dir, max_file_bytes)
    except Refused as refused:
        return f"{refused.code}: {refused.detail}", refused
    fingerprint = hashlib.sha256(data).hexdigest()
    try:
        text, encoding, replaced = decode_text(data)
    except Refused as refused:
        return fingerprint, refused
    return fingerprint, {
        "size_bytes": len(data),
        "content_sha256": fingerprint,
        "encoding": encoding,
        "raw_text": text,
        "replaced_bytes": replaced,
    }


@dataclass(frozen=True)
class Listing:
    """What a source folder holds: its article files, in a stable order, and the sub-folders that could not be read."""

    files: list[Path]
    unreadable_folders: list[Path]


def find_files(source_dir: stores.Location, accepts: Callable[[str], bool]) -> Listing:
    """Every file under source_dir whose name `accepts`, recursively (broken symlinks included, linked folders
    not followed), and the sub-folders that could not be read. On a store: every object under the prefix, as URIs."""
    if stores.is_remote(source_dir):
        return Listing([uri for uri in stores.files_under(source_dir) if accepts(stores.name(uri))], [])
    if not source_dir.is_dir():
        raise FileNotFoundError(f"source folder {source_dir} does not exist or is not a folder; pass --source DIR")
    files, unreadable = [], []
    for folder, _, names in os.walk(source_dir, onerror=lambda error: unreadable.append(Path(error.filename))):
        files.extend(Path(folder, name) for name in names if accepts(name))
    if Path(source_dir) in unreadable:
        raise PermissionError(f"source folder {source_dir} cannot be read; check its permissions")
    return Listing(sorted(files), sorted(unreadable))


def source_uri_for(path: Path, source_dir: Path) -> str:
    """A file's name relative to the source folder, with forward slashes; bytes of a name that are not valid
    UTF-8 are shown escaped (\\xe9), so the name can be stored and printed (see valid_name)."""
    if stores.is_remote(path):  # an object's key is UTF-8
        return path.removeprefix(f"{source_dir}/")
    relative = os.fsencode(path.relative_to(source_dir).as_posix())
    return relative.decode("utf-8", errors="backslashreplace")


def valid_name(path: Path) -> bool:
    """Whether a file's name is valid UTF-8; one that is not cannot be stored as it is (see source_uri_for)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def doc_id_for(source_uri: str) -> str:
    """The id a file keeps across runs: it is named by its path, not its content."""
    return hashlib.sha256(source_uri.encode("utf-8")).hexdigest()[:16]


def check_location(path: Path, source_dir: Path) -> None:
    """Refuse a file that may not be read where it is: a broken link, a file that resolves outside the source
    folder (a symbolic link out of it: its content never reaches a table), a name that is not UTF-8. An object
    store has none of these."""
    if stores.is_remote(path):
        return
    if path.is_symlink() and not path.exists():
        raise Refused("broken_symlink", "its target does not exist")
    if not path.resolve().is_relative_to(Path(source_dir).resolve()):
        raise Refused("outside_source", "it is a symbolic link to a file outside the source folder")
    if not valid_name(path.relative_to(source_dir)):  # the source folder's own name is the user's choice
        raise Refused("invalid_name", "its name is not valid UTF-8")


def read_file(path: Path, source_dir: Path, max_file_bytes: int) -> bytes:
    """The bytes of one file, or Refused saying why they cannot be read (see check_location)."""
    check_location(path, source_dir)
    try:
        size = stores.file_size(path) if stores.is_remote(path) else _regular_file_size(path)
    except OSError as error:
        raise Refused("unreadable", error.strerror or str(error) or type(error).__name__) from None
    if size > max_file_bytes:
        raise Refused("too_large", f"{size} bytes, limit {max_file_bytes}")
    try:
        with stores.open_input(path) as handle:
            data = handle.read(max_file_bytes + 1)
    except OSError as error:
        raise Refused("unreadable", error.strerror or type(error).__name__) from None
    if len(data) > max_file_bytes:  # grew after stat, or a special file that reports size 0
        raise Refused("too_large", f"more than {max_file_bytes} bytes")
    return data


def _regular_file_size(path: Path) -> int:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise Refused("not_a_file", stat.filemode(info.st_mode))
    return info.st_size


def decode_text(data: bytes) -> tuple[str, str, int]:
    """Decode an article: UTF-8 first (also when a few bytes are invalid), then cp1252 for Western text, the
    detected encoding, latin-1. Returns the text, the encoding and how many invalid bytes became U+FFFD."""
    if not data.strip():
        raise Refused("empty_file", f"{len(data)} bytes")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding), encoding), encoding, 0
    if b"\x00" in data:
        raise Refused("binary_file", "contains NUL bytes")
    try:
        return _checked(data.decode("utf-8"), "utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    # Text in a legacy code page is almost never valid UTF-8 by chance beyond a stray byte pair: more valid UTF-8
    # characters than invalid bytes means a UTF-8 file with a few bad bytes, which are replaced, not the whole
    # file read as cp1252 (mojibake).
    valid = data.decode("utf-8", errors="ignore")
    invalid_bytes = len(data) - len(valid.encode("utf-8"))
    if sum(ord(c) > 0x7F for c in valid) > invalid_bytes:
        with contextlib.suppress(Refused):
            return _checked(data.decode("utf-8", errors="replace"), "utf-8"), "utf-8", invalid_bytes
    with contextlib.suppress(UnicodeDecodeError, Refused):
        text = _checked(data.decode("cp1252"), "cp1252")
        # Western text has few accented letters; most non-ASCII letters means another script in a legacy code page.
        if len(_NON_ASCII_LETTERS.findall(text)) <= _MAX_NON_ASCII_SHARE * len(_LETTERS.findall(text)):
            return text, "cp1252", 0
    detected = charset_normalizer.from_bytes(data).best()
    candidates = ([detected.encoding] if detected else []) + list(_FALLBACK_ENCODINGS)
    for encoding in candidates:
        with contextlib.suppress(UnicodeDecodeError, Refused):
            return _checked(data.decode(encoding), encoding), codecs.lookup(encoding).name, 0
    raise Refused("undecodable", f"not valid in utf-8, {', '.join(candidates)}")


def _checked(text: str, encoding: str) -> str:
    controls = len(_CONTROL_CHARS.findall(text))
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise Refused("binary_file", f"{controls} control characters in {len(text)} when read as {encoding}")
    return text
