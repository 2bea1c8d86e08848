"""Where the flow's own process spends its memory, stage by stage: a profiler, not a benchmark figure.

    .venv/bin/python bench/profile_memory.py /tmp/newsflow-synthetic-100k/articles [--batch-size N]

Runs the news-pipeline flow in this process (a temporary PREFECT_HOME, GX project and output)
with the two models replaced by stubs: langdetect calls every paragraph English, and extraction
reads headers without spaCy. Every other stage is the real one, so 100,000 articles take about
9 minutes instead of an hour, and the memory left is the flow process's own (the bench's
peak-RSS figure also counts the worker processes and Prefect's server). Resident memory is
sampled every 0.1 s and printed as the peak seen in each stage, each table's validation and
write, and the groups stage's steps, in the order they first ran ("after x": between x and the
next step).
"""

import argparse
import functools
import os
import tempfile
import threading
import time
from pathlib import Path

from newsflow.runtime.environment import prepare_process

prepare_process()  # as the newsflow command does, before the libraries below allocate

import psutil

from newsflow.analysis import extraction
from newsflow.analysis.language import Call, DocumentLanguage
from newsflow.quality import gx
from newsflow.stages import extract, groups, language, publish
from newsflow.storage import staging

GB = 1024**3


class Peaks:
    """The highest resident memory seen under each label, labels in the order they first appeared."""

    def __init__(self):
        self.label, self.peaks, self.depth = "start", {}, 0
        self.process = psutil.Process()

    def sample(self) -> None:
        while True:
            rss = self.process.memory_info().rss
            self.peaks[self.label] = max(self.peaks.get(self.label, 0), rss)
            time.sleep(0.1)

    def labelled(self, function, label):
        """`function`, with the memory seen while it runs counted under label(*its arguments)."""

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            outer, self.label = self.label, label(*args, **kwargs)
            self.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1
                self.label = outer if self.depth else f"after {self.label}"

        return wrapper


def stub_models() -> None:
    extract.extract_chunk = lambda model, articles: [extraction._extract(a, None, {}) for a in articles]
    english = lambda paragraphs: DocumentLanguage("en", 0.99, False, tuple(Call("en", 0.99, len(p), (("en", 0.99),)) for p in paragraphs))
    language.detect_documents = lambda documents, settings: [english(d) for d in documents]


def stubbed_process(prefix: str) -> Path:
    """A temporary folder for Prefect's home and the GX project, set for this process, and the models stubbed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    # No worker processes: the stubs are not importable by them (and the flow would start them at each batch's start).
    os.environ.update(
        PREFECT_HOME=str(work / "prefect"),
        NEWSFLOW_GX_DIR=str(work / "gx"),
        PREFECT_LOGGING_LEVEL="WARNING",
        NEWSFLOW_NER_PROCESSES="1",
        NEWSFLOW_LANGUAGE_WORKERS="1",
    )
    stub_models()
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    work = stubbed_process("newsflow-memory-")
    from newsflow import pipeline  # after PREFECT_HOME

    peaks = Peaks()
    timed = pipeline.timed
    pipeline.timed = lambda name, function, batch, settings: peaks.labelled(timed, lambda *_: name)(name, function, batch, settings)
    for step in ("joined_groups", "group_fields", "term_vectors", "story_edges", "story_rows"):
        setattr(groups, step, peaks.labelled(getattr(groups, step), lambda *_, step=step: f"groups: {step}"))
    staging.staged_signatures = peaks.labelled(staging.staged_signatures, lambda *_: "groups: read staged signatures")
    publish.write_table = peaks.labelled(publish.write_table, lambda table, *_, **__: f"publish: write {table}")
    table_check = lambda checker, table, frame: f"validate {table}" + (" (after groups)" if checker.batch.stories is not None else "")
    gx.Checker.check = peaks.labelled(gx.Checker.check, table_check)
    threading.Thread(target=peaks.sample, daemon=True).start()

    started = time.perf_counter()
    options = {"batch_size": args.batch_size} if args.batch_size else {}
    record = pipeline.news_pipeline(source=args.source, output=work / "output", **options)
    print(f"{record.status} in {time.perf_counter() - started:.0f} s; stage seconds {dict(record.stage_seconds)}")
    for label, rss in peaks.peaks.items():
        print(f"{label:40s} {rss / GB:5.2f} GB")
    print(f"output and logs: {work}")


if __name__ == "__main__":
    main()
