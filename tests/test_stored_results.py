"""A run's results read from disk on demand: order, one row per key, torn lines, and flat memory."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.compare import compare_runs
from evalkit.errors import RunFileError
from evalkit.junit import to_junit_xml, write_junit
from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown, write_reports
from evalkit.results import (
    RESULTS_FILE,
    ConversationResult,
    ResultsWriter,
    StoredResults,
    iter_results,
    read_results,
    read_run,
    rewrite_results,
    write_atomically,
)

FIXTURE = Path(__file__).parent / "data" / "run_fixture"


def fixture_rows() -> list[ConversationResult]:
    return list(read_run(FIXTURE)[1])


def write_rows(run_dir: Path, rows: list[ConversationResult]) -> Path:
    with ResultsWriter(run_dir) as writer:
        for row in rows:
            writer.write(row)
    return run_dir / RESULTS_FILE


def numbered(rows: list[ConversationResult], count: int) -> list[ConversationResult]:
    """`count` rows cycling through `rows`, each with its own conversation id, newest first."""
    return [
        rows[i % len(rows)].model_copy(update={"conversation_id": f"c{i:05d}"})
        for i in reversed(range(count))
    ]


def test_results_come_sorted_by_key_whatever_the_file_order(tmp_path: Path) -> None:
    rows = numbered(fixture_rows(), 12)
    stored = StoredResults(write_rows(tmp_path, rows))
    assert [r.key for r in stored] == sorted(r.key for r in rows)
    assert stored.result_keys() == sorted(r.key for r in rows)
    assert len(stored) == 12


def test_a_later_row_for_a_key_replaces_the_earlier_one(tmp_path: Path) -> None:
    first = fixture_rows()[0]
    again = first.model_copy(update={"status": "error", "fields": []})
    stored = StoredResults(write_rows(tmp_path, [first, again]))
    assert len(stored) == 1
    assert stored[0].status == "error"
    assert read_results(tmp_path)[0].status == "error"


def test_a_torn_last_line_is_not_a_result_and_a_missing_file_is_no_results(
    tmp_path: Path,
) -> None:
    rows = fixture_rows()
    path = write_rows(tmp_path, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(rows[0].model_dump_json()[:40])
    assert len(StoredResults(path)) == len(rows)
    assert list(StoredResults(tmp_path / "nothing.jsonl")) == []


def test_a_broken_row_in_the_middle_names_its_file_and_line(tmp_path: Path) -> None:
    rows = fixture_rows()
    path = tmp_path / RESULTS_FILE
    lines = [r.model_dump_json() for r in rows]
    lines.insert(2, '{"suite": "x"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RunFileError, match=rf"{RESULTS_FILE}:3: not a result row"):
        StoredResults(path)
    # A row whose key reads but whose body does not fails when it is read, with its line.
    lines[2] = '{"suite": "x", "conversation_id": "y", "status": "sideways"}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stored = StoredResults(path)
    with pytest.raises(RunFileError, match=rf"{RESULTS_FILE}:3: not a result row"):
        list(stored)


def test_indexing_slicing_and_lookup_behave_like_a_sorted_list(tmp_path: Path) -> None:
    rows = numbered(fixture_rows(), 10)
    stored = StoredResults(write_rows(tmp_path, rows))
    expected = sorted(rows, key=lambda r: r.key)
    assert stored[-1] == expected[-1]
    assert [r.key for r in stored[2:7:2]] == [r.key for r in expected[2:7:2]]
    assert [r.key for r in stored[::-1][:3]] == [r.key for r in expected[::-1][:3]]
    assert stored[3:3].result_keys() == []
    with pytest.raises(IndexError):
        stored[10]
    assert stored.get(expected[4].key) == expected[4]
    assert stored.get(("no", "such", 0)) is None
    assert stored[5:].get(expected[4].key) is None  # a slice only finds its own rows


def test_a_file_replaced_after_reading_is_refused_not_misread(tmp_path: Path) -> None:
    rows = fixture_rows()
    path = write_rows(tmp_path, rows)
    stored = StoredResults(path)
    rewrite_results(tmp_path, lambda r: r.status != "fail")
    with pytest.raises(RunFileError, match="replaced since it was read"):
        list(stored)
    assert all(r.status != "fail" for r in StoredResults(path))


def test_every_whole_run_consumer_reads_the_same_from_disk_as_from_a_list(
    tmp_path: Path,
) -> None:
    info, stored = read_run(FIXTURE)
    listed = list(stored)[::-1]  # any order
    assert summarize(stored) == summarize(listed)
    assert render_html(info, stored) == render_html(info, listed)
    assert render_markdown(info, stored) == render_markdown(info, listed)
    assert to_junit_xml(info, stored) == to_junit_xml(info, listed)
    assert compare_runs(info, stored, info, stored) == compare_runs(info, listed, info, listed)
    backwards = stored[::-1]  # a lazy slice that is not in key order is sorted like a list
    assert render_html(info, backwards) == render_html(info, listed)
    assert to_junit_xml(info, backwards) == to_junit_xml(info, listed)
    assert compare_runs(info, backwards, info, stored) == compare_runs(info, listed, info, listed)


def _peak_writing_everything(run_dir: Path) -> int:
    """Peak traced bytes while summarising a run and writing its reports and JUnit XML."""
    info = read_run(FIXTURE)[0]
    stored = StoredResults(run_dir / RESULTS_FILE)
    info = info.model_copy(update={"summary": summarize(stored)})
    gc.collect()
    tracemalloc.start()
    try:
        summarize(stored)
        write_reports(run_dir, info, stored)
        write_junit(run_dir, info, stored)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_the_reports_of_a_run_takes_memory_that_does_not_grow_with_it(
    tmp_path: Path,
) -> None:
    rows = fixture_rows()
    small, large = tmp_path / "small", tmp_path / "large"
    write_rows(small, numbered(rows, 100))
    write_rows(large, numbered(rows, 1600))
    peak_small, peak_large = _peak_writing_everything(small), _peak_writing_everything(large)
    size_large = (large / RESULTS_FILE).stat().st_size
    # 16x the rows: were they held, the peak would grow by many times the file's size.
    assert peak_large < 1.5 * peak_small + size_large / 4, (peak_small, peak_large, size_large)
    assert (large / "report.html").stat().st_size > 5 * (small / "report.html").stat().st_size


def test_text_with_unicode_line_breaks_stays_inside_its_row(tmp_path: Path) -> None:
    # JSON leaves U+2028, U+2029 and NEL unescaped; only a newline byte ends a row.
    odd = "one\u2028two\u2029three\x85four"
    rows = [r.model_copy(update={"warnings": [odd]}) for r in fixture_rows()]
    path = write_rows(tmp_path, rows)
    assert [r.warnings for r in StoredResults(path)] == [[odd]] * len(rows)
    assert [r.warnings for r in iter_results(path)] == [[odd]] * len(rows)


def test_a_file_written_atomically_is_whole_or_untouched(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")

    def parts_that_fail() -> Iterator[str]:
        yield "half of a new "
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, parts_that_fail())
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    write_atomically(path, iter(["new ", "page"]))
    assert path.read_text(encoding="utf-8") == "new page"


def test_a_file_rewritten_in_place_is_refused_not_misread(tmp_path: Path) -> None:
    rows = numbered(fixture_rows(), 6)
    path = write_rows(tmp_path, rows)
    stored = StoredResults(path)
    shuffled = rows[1:] + rows[:1]  # same bytes, other order, same inode
    path.write_text("".join(r.model_dump_json() + "\n" for r in shuffled), encoding="utf-8")
    with pytest.raises(RunFileError, match="changed since it was read"):
        list(stored)
