"""What flows from stage to stage: the frames of one run, named after the tables they become.

Every stage has the same shape, `run(batch, settings) -> batch`: it reads the frames it
needs, returns a batch with the frames it filled, adds a quarantine record for anything
it refused, and counts what it did in `counts` (they end up in the runs table).
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import polars as pl
import pyarrow.dataset as ds

from newsflow.contracts import TABLES
from newsflow.quality.summary import ValidationSummary
from newsflow.quarantine import SCHEMA as QUARANTINE_SCHEMA

SOURCE_COLUMNS = {"path": pl.String, "source_uri": pl.String, "doc_id": pl.String}


@dataclass(frozen=True, slots=True)
class Source:
    """A file the run reads, and the names its document gets."""

    path: str
    source_uri: str
    doc_id: str


class Sources(Sequence[Source]):
    """A run's new and changed files, held as three string columns (a slice is a batch's).

    A run holds them from its plan to its end. On 100,000 files the plan left the run's process
    81 MB larger with them held as Source objects (small objects scattered among the plan's freed
    ones keep Python's memory pools from being returned), 31 MB larger with them as columns.
    """

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame

    @classmethod
    def of(cls, sources: Iterable[Source]) -> "Sources":
        return cls(pl.DataFrame([(s.path, s.source_uri, s.doc_id) for s in sources], schema=SOURCE_COLUMNS, orient="row"))

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sources(self.frame[index])
        return Source(*self.frame.row(index))

    def __iter__(self) -> Iterator[Source]:
        return (Source(*row) for row in self.frame.iter_rows())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sources) and self.frame.equals(other.frame)


@dataclass(frozen=True)
class Batch:
    """The frames of a run, or of one batch of its files.

    A run is cut into batches that go through the per-document stages one after another (or
    side by side on Dask); each batch's document tables are staged on disk (storage.staging), so
    memory stays flat, and publish commits them with the run's other tables at the end.
    """

    run_id: str
    started_at: datetime
    flow_run_id: str | None = None  # when Prefect orchestrates the run
    index: int = 0  # the batch's position in its run
    sources: Sequence[Source] = ()  # the files to read (the plan stage chooses them)
    # A frame in memory, or the run's staged parts of it (a dataset) when it is published.
    documents: pl.DataFrame | ds.Dataset | None = None
    paragraphs: pl.DataFrame | ds.Dataset | None = None
    entities: pl.DataFrame | ds.Dataset | None = None
    quotes: pl.DataFrame | ds.Dataset | None = None
    quantities: pl.DataFrame | ds.Dataset | None = None
    duplicates: pl.DataFrame | None = None
    stories: pl.DataFrame | None = None
    # Signature rows (internal state): of the batch's documents after signatures (until storage.staging parks them),
    # of the run's documents before groups (staged parts, storage.staging.staged_signatures), after groups only the rows
    # the run changed (its documents and those its groups moved), without their shingles: those are read part by part
    # (doc_id and shingles frames) from `shingles`.
    signatures: pl.DataFrame | ds.Dataset | None = None
    shingles: Callable[[], Iterator[pl.DataFrame]] | None = None
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    # Changes to documents published by earlier runs (a file was removed, a new article merged
    # two stories): frames of doc_id plus the columns they set; publish applies them in order.
    document_updates: tuple[pl.DataFrame, ...] = ()
    # Per table, the keys whose earlier rows the run's rows replace, where they are not the run's documents
    # (the groups stage: the signatures and stories it recomputed, the pairs of deleted documents).
    replaced: dict[str, set[str]] = field(default_factory=dict)
    # SHA-256 of every source file's path and fingerprint: which input a release was made from.
    manifest_sha256: str = ""
    counts: Counter = field(default_factory=Counter)
    # What the validate stage found in every call so far (suites, expectations evaluated, failures, Data Docs).
    validation: ValidationSummary | None = None
    # Wall time of each stage, and the version of each table the publish stage wrote.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)

    def timed(self, stage: str, seconds: float) -> "Batch":
        """The stage's seconds added to what earlier batches of the run spent in it."""
        return replace(self, stage_seconds={**self.stage_seconds, stage: round(self.stage_seconds.get(stage, 0) + seconds, 3)})

    def batches(self, size: int) -> list["Batch"]:
        """The run's sources cut into batches of at most `size` files and of even sizes (2,225 files in
        batches of 2,000 are 1,113 + 1,112, not 2,000 + 225: a small last batch would be too small
        for the worker processes), each carrying the run's identity."""
        bounds = batch_bounds(len(self.sources), size)
        return [
            Batch(self.run_id, self.started_at, self.flow_run_id, index=number, sources=self.sources[start:end])
            for number, (start, end) in enumerate(zip(bounds, bounds[1:]))
        ]

    def absorb(self, part: "Batch") -> "Batch":
        """The run with a processed batch added: its counts, timings, quarantine, updates and validation.

        The batch's document tables and signature rows are not kept: they were staged.
        """
        counts = Counter(self.counts)
        counts.update(part.counts)
        seconds = dict(self.stage_seconds)
        for stage, spent in part.stage_seconds.items():
            seconds[stage] = round(seconds.get(stage, 0) + spent, 3)
        return replace(
            self,
            counts=counts,
            stage_seconds=seconds,
            quarantine=pl.concat([self.quarantine, part.quarantine]),
            document_updates=self.document_updates + part.document_updates,
            validation=merged_validation(self.validation, part.validation),
        )

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames this run produced, by table name, in publication order."""
        return {table: frame for table in TABLES if (frame := getattr(self, table, None)) is not None}

    def updated(
        self,
        counts: dict[str, int] | None = None,
        quarantined: list[dict] = (),
        document_updates: pl.DataFrame | None = None,
        validated: ValidationSummary | None = None,
        **frames,
    ) -> "Batch":
        """A copy with some frames replaced, counters added, quarantine records, document updates and a validation
        summary (merged into the batch's) appended.

        Quarantine records are made by `newsflow.quarantine.record`.
        """
        quarantine = self.quarantine
        if quarantined:
            rows = [{**record, "run_id": self.run_id} for record in quarantined]
            quarantine = pl.concat([quarantine, pl.DataFrame(rows, schema=QUARANTINE_SCHEMA)])
        merged = Counter(self.counts)
        merged.update(counts or {})  # update(), unlike +, keeps zero counts
        changed = document_updates is not None and not document_updates.is_empty()
        updates = self.document_updates + ((document_updates,) if changed else ())
        validation = merged_validation(self.validation, validated)
        return replace(self, quarantine=quarantine, counts=merged, document_updates=updates, validation=validation, **frames)


def merged_validation(earlier: ValidationSummary | None, more: ValidationSummary | None) -> ValidationSummary | None:
    return more if earlier is None else earlier + more


def batch_bounds(n_sources: int, size: int) -> list[int]:
    """Where the batches of `n_sources` in batches of at most `size` begin and end (even sizes; none for no sources)."""
    n_batches = -(-n_sources // size)  # rounded up
    return [n_sources * number // n_batches for number in range(n_batches + 1)] if n_batches else []
