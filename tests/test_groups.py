"""groups: once per run, the copies and stories of every current document, from the signatures of all the run's batches."""

import shutil
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import cleaned_articles, read_table, run_stages, seed_texts, write_articles

from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.sources.files import doc_id_for
from newsflow.stages import groups, publish, signatures
from newsflow.storage import staging

FIRST_RUN = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
SECOND_RUN = FIRST_RUN + timedelta(hours=1)
SEED_002 = "002_d27acffbcd5def62.txt"
SEED_004 = "004_f0061f79107f2e27.txt"


def republished(text: str, headline: str, footer: str) -> str:
    return "\n".join([headline, *text.splitlines()[1:], footer])


def grouped_in_batches(documents: pl.DataFrame, settings: Settings, batches: int) -> Batch:
    """The run's documents signed batch by batch (signatures), then grouped once (groups), without the documents."""
    size = -(-documents.height // batches)
    signed = [signatures.run(Batch("second", SECOND_RUN, documents=part), settings) for part in documents.iter_slices(size)]
    assert len(signed) == batches
    rows = pl.concat([batch.signatures for batch in signed])
    return groups.run(Batch("second", SECOND_RUN, signatures=rows), settings)


def test_a_run_in_three_batches_groups_as_in_one(tmp_path):
    seeds = seed_texts()
    first = {name: seeds[name] for name in sorted(seeds)[:3]}
    run_stages(write_articles(tmp_path / "source", first), tmp_path / "one", FIRST_RUN)
    shutil.copytree(tmp_path / "one", tmp_path / "three")
    later = {
        **{name: seeds[name] for name in sorted(seeds)[3:]},
        "wire/002-again.txt": republished(seeds[SEED_002], "Xi and Putin hold talks", "Distributed by Example Wire."),
        "wire/002-once-more.txt": republished(seeds[SEED_002], "Xi in Moscow", "Distributed by Example Wire."),
        "mirror/004.txt": seeds[SEED_004].upper(),
        "mirror/004-copy.txt": seeds[SEED_004],
    }
    documents = cleaned_articles(write_articles(tmp_path / "source", later), tmp_path / "one", SECOND_RUN).documents
    assert documents.height == 6  # the three seeds published earlier are unchanged

    one = grouped_in_batches(documents, Settings(output_dir=tmp_path / "one"), 1)
    three = grouped_in_batches(documents, Settings(output_dir=tmp_path / "three"), 3)

    for frame in ("duplicates", "stories"):
        assert_frame_equal(getattr(three, frame), getattr(one, frame))
    assert_frame_equal(three.signatures.sort("doc_id"), one.signatures.sort("doc_id"))
    assert len(one.document_updates) == len(three.document_updates) == 1
    assert_frame_equal(three.document_updates[0].sort("doc_id"), one.document_updates[0].sort("doc_id"))
    assert dict(three.counts) == dict(one.counts)

    # What they agree on: 002 republished twice (three near pairs), 004 copied twice (three exact pairs), one story.
    assert sorted(one.duplicates["kind"]) == ["exact"] * 3 + ["near"] * 3
    assert one.stories["n_docs"].to_list() == [9]
    # Every document of the run gets its fields; the copies of 002, published earlier, point to it, which stays as it was.
    updated = one.document_updates[0]
    assert set(updated["doc_id"]) == set(documents["doc_id"])
    near_of = dict(updated.select("doc_id", "near_dup_of").iter_rows())
    assert near_of[doc_id_for("wire/002-again.txt")] == near_of[doc_id_for("wire/002-once-more.txt")] == doc_id_for(SEED_002)
    exact_of = dict(updated.select("doc_id", "exact_dup_of").iter_rows())
    # The three copies of 004 arrive together: the lowest doc_id (mirror/004.txt) is the original.
    assert exact_of[doc_id_for(SEED_004)] == exact_of[doc_id_for("mirror/004-copy.txt")] == doc_id_for("mirror/004.txt")
    assert exact_of[doc_id_for("mirror/004.txt")] is None
    # the two copies of 004 are exact duplicates only, though their near-duplicate group is mirror/004.txt's too
    assert (one.counts["exact_duplicates"], one.counts["near_duplicates"], one.counts["duplicate_pairs"]) == (2, 2, 6)


def test_groups_need_the_signatures_of_the_duplicates_stage(tmp_path):
    with pytest.raises(ValueError, match="run signatures first"):
        groups.run(Batch("run", FIRST_RUN, documents=pl.DataFrame({"doc_id": ["a"], "text": ["A"]})), Settings())


def test_the_published_state_holds_every_documents_shingles_the_groups_stage_read_part_by_part(tmp_path):
    """Published shingles come from three places: the earlier table (kept rows), a changed file's new
    rows, and new files; the stage reads them from the table and the run's staged parts, and holds none."""
    seeds = seed_texts()
    names = sorted(seeds)
    source, output = tmp_path / "source", tmp_path / "out"
    run_stages(write_articles(source, {name: seeds[name] for name in names[:3]}), output, FIRST_RUN)
    write_articles(source, {names[0]: seeds[names[0]] + "\n\nThis article was corrected.", **{n: seeds[n] for n in names[3:]}})

    settings = Settings(source_dir=source, output_dir=output)
    batch = signatures.run(cleaned_articles(source, output, SECOND_RUN), settings)
    assert batch.documents.height == 3  # the changed file and two new ones
    grouped = groups.run(staging.staged_signatures(staging.park_batch(batch, settings), settings), settings)
    # the rows written: the changed file's and the new ones (the two others of their story group did not change)
    assert "shingles" not in grouped.signatures.columns and grouped.signatures.height == 3
    assert grouped.counts["earlier_documents_compared"] == 2
    publish.publish_tables(staging.staged(grouped, settings), settings)

    everything = cleaned_articles(source, tmp_path / "elsewhere", SECOND_RUN).documents
    expected = dict(signatures.signature_rows(everything).select("doc_id", "shingles").iter_rows())
    published = read_table(output, "signatures")
    assert published.height == 5
    assert dict(published.select("doc_id", "shingles").iter_rows()) == expected
    assert published["story_id"].null_count() == 0
