"""Time the validate stage on the tables of a corpus (anchor: under 10 s for the BBC corpus).

The tables are built by the stages that run before validation on this branch, then validated
twice: once in a new GX project in a fresh process (Great Expectations' import included), once more
in the same project, as scheduled runs do.

    .venv/bin/python bench/bench_validate.py [CORPUS]    # default: ../shared/corpora/bbc-news
"""

import argparse
import tempfile
import time
from pathlib import Path

from benchlib import BBC_NEWS, corpus_missing

from newsflow.batch import Batch
from newsflow.contracts import TABLES, load_contract
from newsflow.quality.summary import ValidationFailed
from newsflow.runs import new_run_id, utc_now
from newsflow.settings import Settings
from newsflow.stages import clean, extract, groups, ingest, language, plan, signatures, validate

# The stages before validation, in pipeline order, over the corpus as one batch.
STAGES_BEFORE_VALIDATE = (plan.run, ingest.run, clean.run, language.run, signatures.run, groups.run, extract.run)
TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=BBC_NEWS)
    corpus = parser.parse_args().corpus
    if corpus_missing(corpus):
        return

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(source_dir=corpus, output_dir=Path(tmp) / "output", gx_dir=Path(tmp) / "gx")
        started = utc_now()
        batch = Batch(new_run_id(started), started)
        clock = time.perf_counter()
        for stage in STAGES_BEFORE_VALIDATE:
            batch = stage(batch, settings)
        built = ", ".join(f"{stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__}" for stage in STAGES_BEFORE_VALIDATE)
        print(f"tables of {corpus} built by {built} in {time.perf_counter() - clock:.1f} s")
        print("  rows: " + ", ".join(f"{table} {frame.height}" for table, frame in batch.frames().items()))
        expectations = {table: len(load_contract(settings.contracts_dir, table).expectations) for table in TABLES}
        print("  expectations per table: " + ", ".join(f"{t} {n}" for t, n in expectations.items() if n))

        for label in ("first run: GX import and a new GX project", "next run: same process and project"):
            clock = time.perf_counter()
            try:
                validated = validate.run(batch, settings)
            except ValidationFailed as failure:  # still a timing: the checks ran
                validated = batch.updated(validated=failure.summary)
            seconds = time.perf_counter() - clock
            verdict = "within" if seconds < TARGET_SECONDS else "OVER"
            print(f"validate, {label}: {seconds:5.1f} s   (target < {TARGET_SECONDS:.0f} s: {verdict})")
        summary = validated.validation
        print(f"  expectations evaluated {summary.expectations_evaluated}, failed {len(summary.failures)}, "
              f"rows quarantined {validated.counts['rows_failed_validation']}, Data Docs built in {tmp}")


if __name__ == "__main__":
    main()
