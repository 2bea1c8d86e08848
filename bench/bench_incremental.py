"""What a daily run costs: N published synthetic articles, then M new ones, the models stubbed.

    .venv/bin/python bench/bench_incremental.py [--published N ...] [--new M] [--runs K] [CORPUS]

For each N (default 10,000), builds or reuses a synthetic corpus of N + M articles from CORPUS (default
../shared/corpora/bbc-news; bench/synthetic_corpus.py, in /tmp), publishes N of them in one run and the M
others (every (N + M) / M-th file) in a second, then runs once more with nothing new: the first in this
process, the other two each in a fresh one; langdetect and spaCy stubbed as bench/profile_memory.py does
(the other stages are the real ones). Prints each figure beside its target:

- the incremental run's time beyond the no-op run, as a share of the full run's beyond it (each run's own time,
  as the runs table records it): <= 5%;
- the groups stage's peak resident memory in the incremental run, which runs in a fresh process (as a scheduled
  daily run starts; so does the no-op run): flat across the Ns (within 10%);
- the bytes of documents, signatures and stories the incremental run wrote (the files it added), as a
  share of each table: <= 10% for a run of 1% new (--new 100 for 10,000 published);
- with --runs K (for the first N): the N + M articles published in K runs, and in the two runs above,
  against one run: the same groups, stories and pairs (benchlib.published_groups).

The load average is printed with the figures: on a shared machine they are slower, not different.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import profile_memory  # first: it prepares the process as the newsflow command does
import synthetic_corpus
from deltalake import DeltaTable

from benchlib import BBC_NEWS, corpus_missing, published_groups

from newsflow.stages import groups

GB = 1024**3
TABLES = ("documents", "signatures", "stories")


def fresh_run(source: Path, output: Path) -> tuple[float, dict[str, int], int, int]:
    """A run in a fresh process, as a scheduled daily run starts (the models stubbed there too): its own time, counts,
    the highest resident memory of that process while its groups stage ran, and how far that is above the stage's start."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        return process.submit(_measured_run, source, output).result()


def _measured_run(source: Path, output: Path) -> tuple[float, dict[str, int], int, int]:
    profile_memory.stub_models()  # the environment profile_memory.stubbed_process set is inherited
    peaks, at_start = profile_memory.Peaks(), [0]
    run = groups.run

    def measured(batch, settings):
        at_start[0] = peaks.process.memory_info().rss
        return run(batch, settings)

    groups.run = peaks.labelled(measured, lambda *_: "groups")
    threading.Thread(target=peaks.sample, daemon=True).start()
    seconds, counts = run_once(source, output)
    peak = peaks.peaks.get("groups", 0)  # a no-op run has no groups stage
    return seconds, counts, peak, peak - at_start[0]


def link_files(corpus: Path, folder: Path, paths: list[str]) -> Path:
    """Hard links to the corpus's `paths` under `folder` (same names, so the same doc_ids)."""
    for path in paths:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        if not (folder / path).exists():
            os.link(corpus / path, folder / path)
    return folder


def run_once(source: Path, output: Path) -> tuple[float, dict[str, int]]:
    """The run's own time (runs table: from the flow's first line to its record, as run_benchmarks.py counts it; a
    fresh process's imports and Prefect's server start are not in it) and its counts."""
    from newsflow import pipeline  # after PREFECT_HOME

    record = pipeline.news_pipeline(source=source, output=output)
    assert record.status == "completed", record.error
    return (record.finished_at - record.started_at).total_seconds(), record.counts


def written_share(output: Path, since: int) -> dict[str, float]:
    """Per table, the bytes of the files its commits after version `since` added, over the table's bytes."""
    shares = {}
    for table in TABLES:
        delta = DeltaTable(str(output / table))
        added = 0
        for version in range(since[table] + 1, delta.version() + 1):
            log = output / table / "_delta_log" / f"{version:020d}.json"
            added += sum(json.loads(line).get("add", {}).get("size", 0) for line in log.read_text().splitlines())
        shares[table] = added / max(1, sum(delta.get_add_actions(flatten=True).column("size_bytes").to_pylist()))
    return shares


def measure(corpus_root: Path, published: int, new: int, runs: int, work: Path) -> dict:
    wanted = synthetic_corpus.Summary(str(corpus_root.resolve()), published + new, 0, 0.05, 0.05)
    corpus_dir = synthetic_corpus.default_out(published + new)
    synthetic_corpus.ensure_corpus(corpus_dir, wanted, progress=lambda message: print(f"[corpus] {message}", flush=True))
    articles = corpus_dir / "articles"
    paths = sorted(str(p.relative_to(articles)) for p in articles.rglob("*") if p.is_file())
    step = len(paths) // new
    later = paths[step - 1 :: step][:new]
    earlier = sorted(set(paths) - set(later))
    source, output = work / f"source-{published}", work / f"output-{published}"

    full, _ = run_once(link_files(articles, source, earlier), output)
    versions = {table: DeltaTable(str(output / table)).version() for table in TABLES}
    incremental, counts, peak, rise = fresh_run(link_files(articles, source, later), output)
    no_op, *_ = fresh_run(source, output)
    result = {
        "published": len(earlier),
        "new": len(later),
        "full_s": full,
        "incremental_s": incremental,
        "no_op_s": no_op,
        "share": (incremental - no_op) / (full - no_op),
        "groups_peak_gb": peak / GB,
        "groups_rise_gb": rise / GB,
        "earlier_compared": counts["earlier_documents_compared"],
        "earlier_changed": (counts["earlier_documents_regrouped"], counts["earlier_documents_moved_story"]),
        "written": written_share(output, versions),
    }
    if runs > 1:  # the same files in one run, and in `runs` runs; the two runs above too
        single, grown, folder = work / f"single-{published}", work / f"grown-{published}", work / f"grow-{published}"
        run_once(source, single)
        for k in range(runs):
            run_once(link_files(articles, folder, paths[k::runs]), grown)
        one = published_groups(single)
        result["identical_in_runs"] = published_groups(grown) == one and published_groups(output) == one
        for folder in (single, grown, folder):
            shutil.rmtree(folder)
    shutil.rmtree(source), shutil.rmtree(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=BBC_NEWS)
    parser.add_argument("--published", type=int, nargs="+", default=[10_000])
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=0, help="also publish the first corpus in this many runs and compare")
    args = parser.parse_args()
    if corpus_missing(args.corpus):
        return
    work = profile_memory.stubbed_process("bench-incremental-")
    results = []
    for index, published in enumerate(args.published):
        result = measure(args.corpus, published, args.new, args.runs if index == 0 else 0, work)
        results.append(result)
        load = os.getloadavg()[0]
        print(f"{result['published']:,} published + {result['new']:,} new (load average {load:.1f} on {os.cpu_count()} cores):")
        print(
            f"  incremental run beyond a no-op run, share of the full run's: {result['share']:.1%} (target <= 5%; "
            f"full {result['full_s']:.0f} s, incremental {result['incremental_s']:.1f} s, no-op {result['no_op_s']:.1f} s)"
        )
        print(f"  the groups stage compared the new documents with {result['earlier_compared']:,} published ones (their story groups)")
        print("  earlier documents whose copies changed: {:,}, whose story changed: {:,}".format(*result["earlier_changed"]))
        print(
            f"  groups stage: peak RSS of the incremental run's process {result['groups_peak_gb']:.2f} GB, "
            f"{result['groups_rise_gb']:.2f} GB over its start (target: flat)"
        )
        for table, share in result["written"].items():
            print(f"  {table}: the run of {result['new'] / result['published']:.0%} new wrote {share:.1%} of its bytes (target <= 10% for a 1% run)")
        if "identical_in_runs" in result:
            print(f"  published in {args.runs} runs, and in 2, vs 1: identical groups, stories, pairs: {result['identical_in_runs']} (target True)")
    if len(results) > 1:
        peaks = [r["groups_peak_gb"] for r in results]
        sizes = ", ".join(f"{r['published']:,}" for r in results)
        print(f"groups stage peak RSS across {sizes} published: max/min {max(peaks) / min(peaks):.2f} (target <= 1.10)")
    print(f"work folder (Prefect home, Data Docs): {work}")


if __name__ == "__main__":
    main()
