"""validate: check every table's new rows against the expectations in schemas/ with Great Expectations.

A row that fails a `row` expectation is not published (a quarantine record says why), with the
rest of its document when it is a document or a paragraph; a failed `table` expectation fails the
run (ValidationFailed carries the summary) and nothing of it is published. The GX adapter is
newsflow.quality.gx; what the checks found, newsflow.quality.checks.
"""

import logging
import time
from pathlib import Path

from newsflow.batch import Batch
from newsflow.quality.checks import describe, rows_not_published, without_rows
from newsflow.quality.gx import Checker, data_docs_index, expectation_parameters, open_project, project_dir
from newsflow.quality.summary import ValidationFailed, ValidationSummary
from newsflow.settings import Settings
from newsflow.storage.lock import exclusive

log = logging.getLogger(__name__)


def run(batch: Batch, settings: Settings) -> Batch:
    # The GX project is files: batches validated side by side (on Dask) take turns with it.
    with exclusive(project_dir(settings), f"run {batch.run_id}"):
        return _run(batch, settings)


def _run(batch: Batch, settings: Settings) -> Batch:
    started = time.perf_counter()
    checker = Checker(open_project(settings), expectation_parameters(batch, settings), batch, settings)
    frames = {table: frame for table, frame in batch.frames().items() if table != "quarantine"}
    checks = {table: checker.check(table, frame) for table, frame in frames.items()}

    failed, withheld, records = rows_not_published(checks.values(), batch, settings.contracts_dir)
    checked = batch.updated(
        counts={
            "rows_failed_validation": sum(map(len, failed.values())),
            "rows_withheld_with_document": sum(map(len, withheld.values())),
        },
        quarantined=records,
        **{table: without_rows(frame, failed.get(table, set()) | withheld.get(table, set())) for table, frame in frames.items()},
    )
    checks["quarantine"] = checker.check("quarantine", checked.quarantine)

    index = Path(data_docs_index(checker.project))
    # from NEWSFLOW_GX_DIR: the runs table and the commits carry no path of this machine
    summary = ValidationSummary.of(checks.values(), index.relative_to(Path(settings.gx_dir).resolve()).as_posix(), time.perf_counter() - started)
    if fatal := [o for check in checks.values() for o in check.outcomes if o.fails_run]:
        listed = "; ".join(f"{o.table}: {o.expectation.label()}, {describe(o)}" for o in fatal)
        raise ValidationFailed(
            f"validation failed, nothing of run {batch.run_id} is published: {listed}. Fix the input, or the "
            f"expectation in {settings.contracts_dir} if it is wrong; Data Docs: {index}",
            summary,
        )
    log.info("validation: %d expectations; Data Docs: %s", summary.expectations_evaluated, index)
    return checked.updated(counts={"expectations_evaluated": summary.expectations_evaluated}, validated=summary)
