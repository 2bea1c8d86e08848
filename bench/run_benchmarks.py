"""The benchmark suite: every figure of issue 9 measured in one run, next to its target, also written as JSON.

    .venv/bin/python bench/run_benchmarks.py [--bbc DIR] [--synthetic N | --skip-synthetic] [--out FILE]
    make bench BENCH_ARGS="--skip-synthetic"

Every pipeline figure comes from the real command, `.venv/bin/newsflow run`, started as a user
starts it (a subprocess, PREFECT_HOME and the GX project in a temporary folder, no PREFECT_API_URL:
each run starts Prefect's temporary server), while psutil samples the memory of its whole process
tree every 0.2 s. In order:

1. start-up: what a run spends outside its flow, i.e. the interpreter, imports, Prefect's temporary
   server, creating and ending the flow run: the wall time from the shell minus the run's own time
   (runs table: finished_at - started_at, from the flow's first line to its record). Shown for a run
   with nothing new (one self-made article, already published) into existing tables; the first run of
   all (which also creates Prefect's database and the tables) is shown too.
2. seeds: `newsflow run` over seeds/ into a fresh output, wall time from the shell: <= 20 s.
3. html-dev (bench/bench_html.py): body F1, title, authors and date on its pages, the reading's pages per second
   beside trafilatura alone, and `newsflow run` over the NAEB pages (pages per second through every stage).
4. bbc-news: bare spaCy NER over the cleaned articles (the same model and process count as the
   extract stage, Settings().ner_processes), then `newsflow run --full-refresh` into a fresh output;
   the pair is measured --bbc-repeats times (default 3) in turn and each figure is the median.
   Documents per second = files seen / the run's own time (runs table: finished_at - started_at,
   which leaves out interpreter start-up, imports and Prefect's server); target >= 0.75 of bare NER. Also files seen /
   the whole command's wall time from the shell (start-up and model loads included); target >= 0.90 of bare NER.
   Seconds per stage come from the median run's runs.stage_seconds.
5. no-op rerun: `newsflow run` again on the same bbc-news output, nothing changed; net = its wall
   time minus its own start-up, i.e. the run's own time; target <= 3 s.
6. synthetic (bench/synthetic_corpus.py, N articles built from bbc-news, reused when already built):
   peak RSS of the process tree <= 1.5 GB, documents per second at least 85% of bbc-news's, and
   recall of the planted near copies (pairs in the published duplicates table) >= 0.99. A run
   over --max-minutes or --max-rss-gb is stopped and reported with how far it got.

6. accuracy: bench/bench_headers.py (titles, datelines, invented fields, documents published) and
   bench/bench_language.py (lingua, bbc-news, multilingual-dev document language), each run as its own
   process, their figures printed beside their targets (--skip-accuracy leaves them out).

The machine may be shared: the load average is recorded with every run. A corpus that is absent
is skipped with a message.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path

import bench_html
import polars as pl
import psutil
import synthetic_corpus

from benchlib import BBC_NEWS, bare_ner, cleaned_batch, corpus_missing, shingle_set

from newsflow.runs import git_commit
from newsflow.settings import PROJECT_ROOT, Settings
from newsflow.storage.tables import read_published

NEWSFLOW = PROJECT_ROOT / ".venv" / "bin" / "newsflow"
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
SEEDS = PROJECT_ROOT / "seeds"
GB = 1024**3

SEEDS_TARGET_SECONDS = 20.0
NER_SHARE_TARGET = 0.75
WALL_NER_SHARE_TARGET = 0.90  # issue 26: the whole command, start-up included
NOOP_NET_TARGET_SECONDS = 3.0
SYNTHETIC_RSS_TARGET_GB = 1.5
SYNTHETIC_RATE_TOLERANCE = 0.15
NEAR_RECALL_TARGET = 0.99
SAMPLE_SECONDS = 0.2
PROGRESS_SECONDS = 30
_FINISHED_TASK = re.compile(r"Task run '(.+)-[0-9a-f]+' - Finished in state (\w+)")
_LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| \w+ +\| (.*)$", re.MULTILINE)


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str = "-"
    passed: bool | None = None  # None: no target, or not measured
    note: str = ""


@dataclass
class CliRun:
    """One `newsflow run` as measured from outside, and its row of the runs table."""

    label: str
    wall_seconds: float
    returncode: int | None
    peak_rss_bytes: int
    peak_main_rss_bytes: int
    load_before: float
    load_after: float
    log: str
    peak_by_process: list[tuple[str, float]] = field(default_factory=list)  # (process, GB) at the peak
    # Peak GB while each task ran (the first one's includes start-up), in the order they ran.
    peak_by_task: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None  # why the benchmark stopped it
    tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, final state) in the order they finished
    # Seconds from the start of the process to Prefect starting its temporary server, and from then to the flow's start.
    imports_seconds: float | None = None
    prefect_server_seconds: float | None = None
    record: dict | None = None  # the runs-table row (counts, stage_seconds, status, ...)

    @property
    def run_seconds(self) -> float | None:
        """The run's own time, as the runs table has it (no interpreter start-up, imports or Prefect server)."""
        return (self.record["finished_at"] - self.record["started_at"]).total_seconds() if self.record else None

    @property
    def completed(self) -> bool:
        return self.returncode == 0 and self.record is not None and self.record["status"] == "completed"


@dataclass
class Watch:
    """What sampling a running process tree saw (bytes)."""

    peak: int = 0
    peak_main: int = 0
    peak_by_process: list[tuple[str, int]] = field(default_factory=list)
    peak_while: dict[int, int] = field(default_factory=dict)  # by number of tasks finished
    stopped: str | None = None


@dataclass
class Bench:
    work: Path
    env: dict[str, str]
    max_seconds: float
    max_rss_bytes: int
    figures: list[Figure] = field(default_factory=list)
    runs: dict[str, CliRun] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def newsflow_run(self, label: str, source: Path, output: Path, full_refresh: bool = False) -> CliRun:
        """Run the CLI as a user would, sampling the memory of its process tree; stop it past the limits."""
        command = [str(NEWSFLOW), "run", "--source", str(source), "--output", str(output)]
        command += ["--full-refresh"] if full_refresh else []
        log = self.work / f"{label}.log"
        print(f"[{label}] {' '.join(command)}", flush=True)
        load_before = os.getloadavg()[0]
        with log.open("w") as handle:
            spawned_at, started = datetime.now(), time.perf_counter()
            # Its own session, so that stopping it stops its workers and Prefect's server too.
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
            try:
                seen = self.watch(process, label, log, started)
            except BaseException:  # Ctrl-C: the run is in its own session and would go on without us
                stop_group(process)
                raise
            wall = time.perf_counter() - started
        tasks = finished_tasks(log)
        names = [task for task, _ in tasks]
        imports_seconds, server_seconds = start_up_phases(log, spawned_at)
        run = CliRun(
            label, wall, process.returncode, seen.peak, seen.peak_main, load_before, os.getloadavg()[0], str(log),
            peak_by_process=[(kind, round(size / GB, 3)) for kind, size in seen.peak_by_process],
            peak_by_task={names[i] if i < len(names) else "after the last task": round(size / GB, 2) for i, size in sorted(seen.peak_while.items())},
            stopped=seen.stopped, tasks=tasks, imports_seconds=imports_seconds, prefect_server_seconds=server_seconds,
            record=None if seen.stopped else latest_run_record(output),
        )
        status = run.record["status"] if run.record else f"exit {process.returncode}"
        print(f"[{label}] {status}: {wall:.1f} s wall, run {fmt(run.run_seconds)} s, peak RSS {seen.peak / GB:.2f} GB", flush=True)
        if process.returncode and not seen.stopped:
            print(f"[{label}] the run failed; its log: {log}", flush=True)
        self.runs[label] = run
        return run

    def watch(self, process: subprocess.Popen, label: str, log: Path, started: float) -> Watch:
        """Sample the run's memory until it ends, report progress, stop it past the limits."""
        seen, next_report = Watch(), started + PROGRESS_SECONDS
        while process.poll() is None:
            sizes = tree_rss(process.pid)
            total = sum(size for _, size in sizes)
            if total > seen.peak:
                seen.peak, seen.peak_by_process = total, sizes
            seen.peak_main = max(seen.peak_main, sizes[0][1] if sizes else 0)
            finished = len(finished_tasks(log))  # the task running now is the next one to finish
            seen.peak_while[finished] = max(seen.peak_while.get(finished, 0), total)
            elapsed = time.perf_counter() - started
            if seen.stopped is None and (elapsed > self.max_seconds or total > self.max_rss_bytes):
                seen.stopped = f"over {self.max_seconds / 60:.0f} min" if elapsed > self.max_seconds else f"over {self.max_rss_bytes / GB:.1f} GB"
                print(f"[{label}] stopping the run: {seen.stopped} (at {elapsed:.0f} s, {total / GB:.2f} GB)", flush=True)
                stop_group(process)
            if time.perf_counter() >= next_report:
                next_report += PROGRESS_SECONDS
                print(
                    f"[{label}] {elapsed:5.0f} s  RSS {total / GB:.2f} GB (peak {seen.peak / GB:.2f})  "
                    f"tasks finished: {finished}  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            time.sleep(SAMPLE_SECONDS)
        return seen

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bbc", type=Path, default=BBC_NEWS, help="the bbc-news corpus (default ../shared/corpora/bbc-news)")
    parser.add_argument("--html", type=Path, default=bench_html.HTML_DEV, help="the html-dev corpus (default ../shared/corpora/html-dev)")
    parser.add_argument("--synthetic", type=int, default=100_000, metavar="N", help="articles in the synthetic corpus (default 100,000)")
    parser.add_argument("--bbc-repeats", type=int, default=3, metavar="N", help="bare NER and the bbc-news run, N times each; medians (default 3)")
    parser.add_argument("--skip-synthetic", action="store_true", help="leave out the synthetic corpus (the long part)")
    parser.add_argument("--synthetic-dir", type=Path, help="where the synthetic corpus is built or found (default /tmp/newsflow-synthetic-100k for 100,000)")
    parser.add_argument("--skip-accuracy", action="store_true", help="leave out bench_headers.py and bench_language.py")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpus")
    parser.add_argument("--max-minutes", type=float, default=90, help="stop a pipeline run that takes longer (default 90)")
    parser.add_argument("--max-rss-gb", type=float, default=6.0, help="stop a pipeline run whose process tree uses more (default 6)")
    parser.add_argument("--out", type=Path, help="JSON results file (default bench/results/<UTC time>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary outputs and logs")
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    bench = Bench(work, cli_environment(work), args.max_minutes * 60, int(args.max_rss_gb * GB))
    settings = Settings()
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GB:.1f} GB, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; NER processes {settings.ner_processes}; work folder {work}")
    try:
        measure_start_up(bench)
        measure_seeds(bench)
        measure_html(bench, args.html)
        if corpus_missing(args.bbc):
            print("bbc-news absent: end-to-end speed, no-op rerun and the synthetic corpus are not measured")
        else:
            bbc_rate = measure_bbc(bench, args.bbc, settings, args.bbc_repeats)
            if args.skip_synthetic:
                print("synthetic corpus skipped (--skip-synthetic)")
            else:
                corpus_dir = args.synthetic_dir or synthetic_corpus.default_out(args.synthetic)
                measure_synthetic(bench, args.bbc, corpus_dir, args.synthetic, args.seed, bbc_rate)
        if not args.skip_accuracy:
            measure_accuracy()
    finally:
        results = write_results(bench, args, started_at, settings)
        print_table(bench)
        print(f"results: {results}")
        if args.keep:
            print(f"outputs and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure_accuracy() -> None:
    """Header and language accuracy: their own scripts, which print each figure beside its target."""
    for script in ("bench_headers.py", "bench_language.py"):
        print(f"--- {script}", flush=True)
        completed = subprocess.run([sys.executable, str(Path(__file__).parent / script)], check=False)
        if completed.returncode:
            print(f"{script}: a figure missed its target (exit {completed.returncode})")


def cli_environment(work: Path) -> dict[str, str]:
    """The environment of every run: a private Prefect home and GX project, no telemetry, no Prefect server of the user's."""
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    if "PREFECT_API_URL" in os.environ:
        print("PREFECT_API_URL is set: ignored, every run starts its own temporary server as on a fresh machine")
    return env | {
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "NEWSFLOW_GX_DIR": str(work / "gx"),
    }


def measure_start_up(bench: Bench) -> None:
    # A source with nothing new, into existing tables: a run whose work is none (an empty folder is refused).
    source = bench.work / "one-article"
    source.mkdir()
    (source / "note.txt").write_text("Benchmark note\n\nThis short article gives the start-up runs a file to read.\n", encoding="utf-8")
    output = bench.work / "one-article-output"
    cold = bench.newsflow_run("first-run", source, output)
    no_op = bench.newsflow_run("no-op", source, output)
    bench.add(
        Figure("first run ever (new Prefect database, tables created), one article", cold.wall_seconds, "s", note="wall from the shell"),
        Figure(
            "start-up: interpreter, imports, Prefect's temporary server", start_up_seconds(no_op), "s",
            note=f"a run with nothing new into existing tables: {no_op.wall_seconds:.1f} s wall minus the run itself "
            f"{fmt(no_op.run_seconds)} s ({stage_summary(no_op)}); {start_up_summary(no_op)}",
        ),
    )


def measure_seeds(bench: Bench) -> None:
    seeds = bench.newsflow_run("seeds", SEEDS, bench.work / "seeds-output")
    bench.add(
        Figure(
            "newsflow run on the seeds, fresh output", seeds.wall_seconds, "s", f"<= {SEEDS_TARGET_SECONDS:.0f}",
            seeds.completed and seeds.wall_seconds <= SEEDS_TARGET_SECONDS,
            f"wall from the shell; {start_up_summary(seeds)}; the run itself {fmt(seeds.run_seconds)} s "
            f"({stage_summary(seeds)}); peak RSS {seeds.peak_rss_bytes / GB:.2f} GB",
        )
    )


def measure_html(bench: Bench, corpus: Path) -> None:
    """bench_html's figures on html-dev, and `newsflow run` over its NAEB pages (the whole pipeline, pages per second)."""
    figures = bench_html.measure(corpus)
    if not figures:
        return
    for figure in figures:
        bench.add(Figure(figure.name, figure.value, "", figure.target, figure.passed, figure.anchor))
    pages = bench.newsflow_run("html-dev-naeb", corpus / "naeb" / "html", bench.work / "html-output")
    reading = next(f for f in figures if f.name.startswith("pages/s"))
    bench.add(
        Figure(
            "newsflow run on the NAEB HTML pages, fresh output", documents_per_second(pages), "pages/s",
            note=f"files seen / the run's own time, every stage (NER, validation, publish); its reading alone "
            f"{reading.value:.1f} pages/s; {stage_summary(pages)}",
        )
    )


def measure_bbc(bench: Bench, corpus: Path, settings: Settings, repeats: int) -> float | None:
    """Bare NER and the full run on bbc-news, `repeats` times in turn, then the no-op rerun; returns the median run's
    documents per second. Each figure is the median of its repetitions: on this shared machine, stages whose code had not
    changed took 5-10% longer from one bench to the next, more than the gap between the run and its target."""
    texts = cleaned_batch(Settings(source_dir=corpus)).documents["text"].to_list()
    bare, runs = [], []
    for repetition in range(1, repeats + 1):
        print(f"[bare NER {repetition}/{repeats}] {len(texts)} cleaned articles, model {settings.spacy_model}, "
              f"{settings.ner_processes} process(es)", flush=True)
        ner_seconds, n_entities = bare_ner(texts, settings.spacy_model, settings.ner_processes)
        bare.append(len(texts) / ner_seconds)
        print(f"[bare NER {repetition}/{repeats}] {bare[-1]:.1f} docs/s ({ner_seconds:.1f} s, {n_entities} entities)", flush=True)
        # A fresh output each time: every repetition does the same work.
        runs.append(bench.newsflow_run(f"bbc-news-{repetition}", corpus, bench.work / f"bbc-output-{repetition}", full_refresh=True))
    bare_rate = statistics.median(bare)
    by_rate = sorted(runs, key=lambda run: documents_per_second(run) or 0.0)
    full = by_rate[(len(by_rate) - 1) // 2]  # the median run (the lower middle one of an even count)
    rate = documents_per_second(full)
    each = f"of {repeats}: " if repeats > 1 else ""
    bench.add(
        Figure(
            "bare spaCy NER on bbc-news (anchor)", bare_rate, "docs/s",
            note=f"median {each}{', '.join(f'{value:.1f}' for value in bare)}; {settings.ner_processes} process(es), model loaded beforehand",
        ),
        Figure(
            "end-to-end on bbc-news, --full-refresh", rate, "docs/s", f">= {NER_SHARE_TARGET:.2f} x bare = {NER_SHARE_TARGET * bare_rate:.1f}",
            rate is not None and rate >= NER_SHARE_TARGET * bare_rate,
            f"{ratio(rate, bare_rate)} of bare NER; median {each}{', '.join(fmt(documents_per_second(run)) for run in runs)}; "
            f"files seen / the run's own time; the median run ({full.label}) from the shell: {fmt(full.wall_seconds)} s wall; "
            f"peak RSS {full.peak_rss_bytes / GB:.2f} GB ({peak_breakdown(full)})",
        ),
    )
    walls = [run.record["counts"]["files_seen"] / run.wall_seconds if run.completed else None for run in runs]
    wall_rate = statistics.median([rate or 0.0 for rate in walls])
    bench.add(
        Figure(
            "end-to-end on bbc-news from the shell, start-up included", wall_rate, "docs/s",
            f">= {WALL_NER_SHARE_TARGET:.2f} x bare = {WALL_NER_SHARE_TARGET * bare_rate:.1f}",
            wall_rate >= WALL_NER_SHARE_TARGET * bare_rate,
            f"{ratio(wall_rate, bare_rate)} of bare NER; median {each}{', '.join(fmt(value) for value in walls)}; "
            f"files seen / the whole `newsflow run` command's wall time (interpreter, imports, Prefect's server, model loads)",
        ),
    )
    for stage, seconds in stage_seconds(full).items():
        bench.add(Figure(f"bbc-news stage: {stage}", seconds, "s", note=full.label))

    noop = bench.newsflow_run("no-op-rerun", corpus, bench.work / f"bbc-output-{repeats}")
    net = noop.run_seconds
    bench.add(
        Figure(
            "no-op rerun on bbc-news, beyond start-up", net, "s", f"<= {NOOP_NET_TARGET_SECONDS:.0f}",
            noop.completed and net <= NOOP_NET_TARGET_SECONDS,
            f"raw {noop.wall_seconds:.1f} s wall minus its start-up {fmt(start_up_seconds(noop))} s; {stage_summary(noop)}",
        )
    )
    bench.extra["bare_ner"] = {"documents": len(texts), "docs_per_second": bare, "median": bare_rate}
    return rate


def measure_synthetic(bench: Bench, bbc: Path, corpus_dir: Path, n_articles: int, seed: int, bbc_rate: float | None) -> None:
    wanted = synthetic_corpus.Summary(str(bbc.resolve()), n_articles, seed, 0.05, 0.05)
    print(f"[synthetic] corpus of {n_articles} articles in {corpus_dir}", flush=True)
    summary = synthetic_corpus.ensure_corpus(corpus_dir, wanted, progress=lambda message: print(f"[synthetic] {message}", flush=True))
    output = bench.work / "synthetic-output"
    run = bench.newsflow_run(f"synthetic-{n_articles}", corpus_dir / "articles", output, full_refresh=True)
    rate = documents_per_second(run)
    how_far = "" if run.completed else f"; {how_far_it_got(run)}"
    recall = near_copy_recall(output, corpus_dir / "manifest.csv") if run.completed else None
    bench.add(
        Figure(
            f"synthetic {n_articles:,}: peak RSS, process tree", run.peak_rss_bytes / GB, "GB", f"<= {SYNTHETIC_RSS_TARGET_GB}",
            run.peak_rss_bytes <= SYNTHETIC_RSS_TARGET_GB * GB if run.completed else False,
            f"at the peak: {peak_breakdown(run)}; the main process's own peak {run.peak_main_rss_bytes / GB:.2f} GB; "
            f"peak by task: {', '.join(f'{task} {size:.2f}' for task, size in run.peak_by_task.items())}; wall {run.wall_seconds:.0f} s{how_far}",
        ),
        Figure(
            f"synthetic {n_articles:,}: end-to-end", rate, "docs/s",
            "-" if bbc_rate is None else f">= {1 - SYNTHETIC_RATE_TOLERANCE:.2f} x bbc-news = {(1 - SYNTHETIC_RATE_TOLERANCE) * bbc_rate:.1f}",
            None if bbc_rate is None else rate is not None and rate >= (1 - SYNTHETIC_RATE_TOLERANCE) * bbc_rate,
            f"{ratio(rate, bbc_rate)} of bbc-news" + how_far,
        ),
        Figure(
            f"synthetic {n_articles:,}: recall of planted near copies", recall["near"] if recall else None, "", f">= {NEAR_RECALL_TARGET}",
            recall is not None and recall["near"] >= NEAR_RECALL_TARGET,
            "" if recall is None else f"exact copies {recall['exact']:.4f}, natural bbc-news pairs {recall['natural']:.4f}; "
            f"same group (near_dup_of) {recall['near_same_group']:.4f}",
        ),
    )
    for stage, seconds in stage_seconds(run).items():
        bench.add(Figure(f"synthetic {n_articles:,} stage: {stage}", seconds, "s"))
    bench.extra["synthetic"] = {"corpus": str(corpus_dir), "summary": summary.counts, "recall": recall}


def near_copy_recall(output: Path, manifest: Path) -> dict:
    """Share of the manifest's pairs, by kind, that the published duplicates table holds (either way round).

    near_same_group: share of planted near pairs whose documents share a group (documents.near_dup_of).
    Misses are listed with their Jaccard on the published texts, to tell a miss from an edit the clean stage undid.
    """
    pairs = read_published(output, "duplicates", ["doc_id", "other_doc_id"])
    found = {frozenset(pair) for pair in pairs.iter_rows()}
    documents = read_published(output, "documents", ["doc_id", "near_dup_of", "text"])
    group = dict(documents.select("doc_id", pl.coalesce("near_dup_of", "doc_id")).iter_rows())
    planted = synthetic_corpus.read_manifest(manifest)

    def share(kinds: tuple[str, ...]) -> float:
        rows = [r for r in planted if r["kind"] in kinds]
        return sum(frozenset((r["doc_id"], r["source_doc_id"])) in found for r in rows) / len(rows) if rows else 1.0

    near = [r for r in planted if r["kind"] == "near"]
    same_group = [r for r in near if r["doc_id"] in group and group[r["doc_id"]] == group.get(r["source_doc_id"])]
    missed = [r for r in near if frozenset((r["doc_id"], r["source_doc_id"])) not in found]
    texts = dict(documents.filter(pl.col("doc_id").is_in([i for r in missed for i in (r["doc_id"], r["source_doc_id"])])).select("doc_id", "text").iter_rows())
    return {
        "near": share(("near",)),
        "exact": share(("exact_bytes", "exact_format")),
        "natural": share(("natural",)),
        "near_same_group": len(same_group) / len(near) if near else 1.0,
        "near_missed": [
            {
                **{k: r[k] for k in ("path", "source_path", "jaccard", "edits")},
                "published_jaccard": jaccard_of(texts.get(r["doc_id"]), texts.get(r["source_doc_id"])),
            }
            for r in missed[:20]
        ],
    }


def jaccard_of(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    sa, sb = shingle_set(a), shingle_set(b)
    return len(sa & sb) / len(sa | sb)


def start_up_seconds(run: CliRun) -> float | None:
    """What a run spends outside the flow: interpreter, imports, Prefect's temporary server, flow-run set-up and teardown."""
    return run.wall_seconds - run.run_seconds if run.run_seconds is not None else None


def start_up_summary(run: CliRun) -> str:
    return (
        f"interpreter and imports {fmt(run.imports_seconds)} s, Prefect's temporary server {fmt(run.prefect_server_seconds)} s "
        "(the pipeline's and Great Expectations' imports meanwhile)"
    )


def stage_summary(run: CliRun) -> str:
    """The stages that took at least a tenth of a second, slowest first."""
    stages = sorted(stage_seconds(run).items(), key=lambda item: -item[1])
    return ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages if seconds >= 0.1) or "no stage over 0.1 s"


def documents_per_second(run: CliRun) -> float | None:
    return run.record["counts"]["files_seen"] / run.run_seconds if run.completed and run.run_seconds else None


def stage_seconds(run: CliRun) -> dict[str, float]:
    return dict(run.record.get("stage_seconds") or {}) if run.record else {}


def latest_run_record(output: Path) -> dict | None:
    runs = read_published(output, "runs")
    return None if runs is None or runs.is_empty() else runs.sort("started_at").row(-1, named=True)


def tree_rss(pid: int) -> list[tuple[str, int]]:
    """Resident memory of a process and of each of its descendants, the process first (nothing once it is gone)."""
    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    sizes = []
    for process in processes:
        try:
            sizes.append((process_kind(process, parent), process.memory_info().rss))
        except psutil.NoSuchProcess:  # a worker that ended between the listing and the reading
            pass
    return sizes


def process_kind(process: psutil.Process, root: psutil.Process) -> str:
    """What a process of the run's tree is, for the peak's breakdown."""
    if process.pid == root.pid:
        return "newsflow run"
    command = " ".join(process.cmdline())
    if "spawn_main" in command:
        return "worker"
    if "multiprocessing" in command:
        return "resource tracker"
    return "prefect server" if "prefect" in command and "server" in command else command[:60]


def stop_group(process: subprocess.Popen) -> None:
    """Stop the run we started and every process of its session (workers, Prefect's server)."""
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def finished_tasks(log: Path) -> list[tuple[str, str]]:
    return _FINISHED_TASK.findall(log.read_text(errors="replace"))


def start_up_phases(log: Path, spawned_at: datetime) -> tuple[float | None, float | None]:
    """From the run's log (local clock times): seconds to Prefect starting its temporary server, then to the flow's start."""
    clocks = {}
    for clock, message in _LOG_LINE.findall(log.read_text(errors="replace")):
        for phase, marker in (("server", "Starting temporary server"), ("flow", "Beginning flow run")):
            if marker in message:
                clocks.setdefault(phase, clock)
    # Seconds since spawned_at; modulo a day, since the log has no date.
    since = {
        phase: (datetime.combine(spawned_at.date(), dt_time.fromisoformat(clock)) - spawned_at).total_seconds() % 86400
        for phase, clock in clocks.items()
    }
    if "server" not in since:
        return None, None
    return since["server"], since["flow"] - since["server"] if "flow" in since else None


def how_far_it_got(run: CliRun) -> str:
    """Where a run that did not complete stopped: the failed task and its error, or the last task that finished."""
    if run.stopped:
        last = run.tasks[-1][0] if run.tasks else "none"
        return f"stopped {run.stopped}, after {len(run.tasks)} task(s) finished, the last {last!r}"
    failed = next((task for task, state in run.tasks if state != "Completed"), None)
    error = (run.record or {}).get("error") or f"exit {run.returncode}"
    return f"failed in {failed!r}: {error[:160]}" if failed else f"failed: {error[:160]}"


def peak_breakdown(run: CliRun) -> str:
    """The peak's memory by kind of process: newsflow run 0.9 GB, 2 worker 0.8 GB, prefect server 0.2 GB."""
    kinds: dict[str, list[float]] = {}
    for kind, size in run.peak_by_process:
        kinds.setdefault(kind, []).append(size)
    return ", ".join(f"{'' if len(sizes) == 1 else f'{len(sizes)} '}{kind} {sum(sizes):.2f} GB" for kind, sizes in kinds.items())


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None, anchor: float | None) -> str:
    return "-" if value is None or not anchor else f"{value / anchor:.2f}x"


def print_table(bench: Bench) -> None:
    rows = [
        (f.name, f"{fmt(f.value, 2 if f.unit in ('GB', '') else 1)} {f.unit}".strip(), f.target,
         {True: "pass", False: "FAIL", None: ""}[f.passed], f.note)
        for f in bench.figures
    ]
    widths = [max(len(row[i]) for row in rows + [("figure", "ours", "target", "", "")]) for i in range(4)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(("figure", "ours", "target", ""), widths)) + "  note")
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
    loads = ", ".join(f"{run.label} {run.load_before:.1f}-{run.load_after:.1f}" for run in bench.runs.values())
    print(f"load average (1 min, {os.cpu_count()} cores) before-after each run: {loads}")


def write_results(bench: Bench, args: argparse.Namespace, started_at: datetime, settings: Settings) -> Path:
    path = args.out or RESULTS_DIR / f"{started_at:%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "git_commit": git_commit(),
        "arguments": {key: str(value) for key, value in vars(args).items()},
        "machine": {
            "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / GB, 1),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "settings": {"ner_processes": settings.ner_processes, "language_workers": settings.language_workers, "spacy_model": settings.spacy_model},
        "figures": [asdict(figure) for figure in bench.figures],
        "runs": {label: {**asdict(run), "run_seconds": run.run_seconds, "record": _jsonable(run.record)} for label, run in bench.runs.items()},
        **bench.extra,
    }
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def _jsonable(record: dict | None) -> dict | None:
    """The runs-table row with its validation summary parsed and its times as text."""
    if record is None:
        return None
    validation = json.loads(record["validation"]) if record.get("validation") else None
    return {**{key: str(value) if isinstance(value, datetime) else value for key, value in record.items()}, "validation": validation}


if __name__ == "__main__":
    sys.exit(main())
