"""`evalkit view` over HTTP, against both backends: pages, read-only, headers, hosts, misses.

The browser tests (tests/browser/test_view_browser.py) drive the same server in chromium.
"""

from __future__ import annotations

import html
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.history import HISTORY_FILE, history_location, record_run
from evalkit.results import read_run
from evalkit.view import ViewServer, ViewSettings
from tests import pgserver
from tests.test_history import BACKENDS, make_run
from tests.test_history_figures import record

DATA = Path(__file__).resolve().parent / "data"
BASE_ID = "20260301T020000Z-1b2c3d"
CAND_ID = "20260302T020000Z-3f9a1c"
GOOD = "20260303T020000Z-a0a0a0"
FEATURE = "20260304T020000Z-b1b1b1"
WIX = "20260305T020000Z-c2c2c2"
STOPPED = "20260306T020000Z-d3d3d3"
GONE = "20260307T020000Z-e4e4e4"


def build_history(root: Path, history: str) -> None:
    """Record seven runs under `root` into `history`.

    The two fixture runs (a comparison with one regression and one fix), a good night, a
    feature branch that missed its gates, a run of one suite against Wix, an interrupted run,
    and a run whose directory is gone.
    """
    for source, run_id in (("run_fixture_base", BASE_ID), ("run_fixture", CAND_ID)):
        shutil.copytree(DATA / source, root / run_id)
        info, results = read_run(root / run_id)
        record_run(
            history, root / run_id, info, results, gates_met=True, branch="main", commit="c0" * 20
        )
    make_run(root, GOOD, day=3, failing=0, history=history)
    make_run(root, FEATURE, day=4, failing=3, gates_met=False, branch="feature/x", history=history)
    run_dir, info, results = make_run(root, WIX, day=5, failing=0, record=False)
    wix = info.model_copy(
        update={
            "target": info.target.model_copy(
                update={"name": "wix", "base_url": "https://www.wixapis.com"}
            ),
            "suites": [s for s in info.suites if s.name == "contact-form"],
        }
    )
    record_run(history, run_dir, wix, results, gates_met=True, branch="main", commit="w1" * 20)
    make_run(root, STOPPED, day=6, interrupted=True, gates_met=False, history=history)
    make_run(root, GONE, day=7, failing=2, history=history)
    shutil.rmtree(root / GONE)


@pytest.fixture(scope="module", params=BACKENDS)
def view(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A view over the seven runs (the pages only read: one history per backend serves all)."""
    tmp_path = tmp_path_factory.mktemp("view")
    history = (
        str(tmp_path / HISTORY_FILE) if request.param == "sqlite" else pgserver.fresh_database()
    )
    build_history(tmp_path / "runs", history)
    with ViewServer(ViewSettings(history_location(history))) as server:
        yield server.url


def fetch(url: str, *, method: str = "GET", host: str | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, method=method)
    if host is not None:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_pages_answer_with_their_policies(view: str) -> None:
    status, headers, body = fetch(view)
    assert status == 200
    for run_id in (BASE_ID, CAND_ID, GOOD, FEATURE, WIX, STOPPED, GONE):
        assert run_id in body
    assert "script-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "<script" not in body
    status, headers, body = fetch(f"{view}report?id={CAND_ID}")
    assert status == 200
    assert "script-src 'sha256-" in headers["content-security-policy"]
    policy = headers["content-security-policy"]
    assert f'content="{policy}"' in html.unescape(body)  # the report's own policy
    status, _, body = fetch(f"{view}compare?base={BASE_ID}&candidate={CAND_ID}")
    assert status == 200
    assert "1 regression, 1 fix" in body
    status, _, body = fetch(f"{view}trend?suite=booking")
    assert status == 200
    assert "<svg" in body


def test_a_run_page_shows_its_slot_figures_when_recorded(view: str) -> None:
    _, _, good = fetch(f"{view}run?id={GOOD}")
    _, _, base = fetch(f"{view}run?id={BASE_ID}")  # a run.json from before the figures

    cards = good[good.index('<div class="cards slots">') :]
    for value, name in (("40.0%", "joint goal accuracy"), ("72.0%", "slot F1")):
        assert f'<div class="value">{value}</div><div class="name">{name}</div>' in cards
    assert "joint goal accuracy" not in base


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_page_shows_its_coverage_and_persona_figures_when_recorded(
    tmp_path: Path, backend: str
) -> None:
    history = str(tmp_path / HISTORY_FILE) if backend == "sqlite" else pgserver.fresh_database()
    record(tmp_path, history, "figures", day=1)  # 3 of 5 items observed; 6 of 8 submitted
    record(tmp_path, history, "personas-only", day=2, coverage=None)
    make_run(tmp_path, "plain", day=3, history=history)  # no form recorded, no persona

    with ViewServer(ViewSettings(history_location(history))) as server:
        figures, personas_only, plain = (
            fetch(f"{server.url}run?id={run_id}")[2]
            for run_id in ("figures", "personas-only", "plain")
        )

    cards = figures[figures.index('<div class="cards coverage">') :]
    for value, name in (
        ("60.0%", "coverage observed"),
        ("3 of 5", "items covered"),
        ("75.0%", "persona completion"),
        ("0.25", "re-asks per conversation"),
    ):
        assert f'<div class="value">{value}</div><div class="name">{name}</div>' in cards
    assert "coverage observed" not in personas_only
    assert '<div class="value">75.0%</div><div class="name">persona completion</div>' in (
        personas_only
    )
    assert "coverage observed" not in plain
    assert "persona completion" not in plain


def test_the_view_compares_two_runs_typed_differences_first(view: str) -> None:
    _, _, body = fetch(f"{view}compare?base={BASE_ID}&candidate={CAND_ID}")

    section = body[body.index('<section id="regressions">') :]
    assert section.index('id="typed-differences"') < section.index('id="regressions-list"')
    assert '<td class="num" data-category="newly missing">1</td>' in section


def test_the_view_is_read_only(view: str) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert fetch(view, method=method)[0] == 405
        assert fetch(f"{view}run?id={GOOD}", method=method)[0] == 405
    assert fetch(view, method="HEAD")[0] == 200


def test_another_host_name_is_refused(view: str) -> None:
    """A page of another site, its name rebound to 127.0.0.1, cannot read the view."""
    assert fetch(view, host="attacker.example")[0] == 400
    assert fetch(view.replace("127.0.0.1", "localhost"))[0] == 200


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("run?id=nope", 404, "no run &#39;nope&#39; in the history"),
        (f"report?id={GONE}", 404, "not reachable from here"),
        (f"compare?base={GONE}&candidate={CAND_ID}", 404, "not reachable from here"),
        ("compare?base=", 404, "pick two runs"),
        ("trend?suite=nope", 404, "no suite"),
        ("?since=yesterday", 400, "YYYY-MM-DD"),
        ("no/such/page", 404, "no such page"),
    ],
)
def test_what_cannot_be_shown_says_why(view: str, path: str, status: int, says: str) -> None:
    got, headers, body = fetch(view + path)
    assert got == status
    assert says in body
    assert "script-src 'none'" in headers["content-security-policy"]


def test_a_run_directory_elsewhere_is_found_under_runs_roots(tmp_path: Path) -> None:
    history = tmp_path / HISTORY_FILE
    build_history(tmp_path / "runs", str(history))
    (tmp_path / "downloaded").mkdir()
    shutil.move(tmp_path / "runs" / GOOD, tmp_path / "downloaded" / "evalkit-run-123")
    settings = ViewSettings(history_location(history), (tmp_path / "downloaded",))
    with ViewServer(settings) as server:
        assert fetch(f"{server.url}report?id={GOOD}")[0] == 200
        assert fetch(f"{server.url}report?id={CAND_ID}")[0] == 200
    with ViewServer(ViewSettings(history_location(history))) as server:
        assert fetch(f"{server.url}report?id={GOOD}")[0] == 404


def test_a_postgresql_view_never_shows_the_password(tmp_path: Path) -> None:
    url = pgserver.fresh_database()
    build_history(tmp_path / "runs", url)
    with ViewServer(ViewSettings(history_location(url))) as server:
        for path in ("", f"run?id={GOOD}", "trend?suite=booking", "run?id=nope"):
            body = fetch(server.url + path)[2]
            assert pgserver.PASSWORD not in body
            assert "evalkit:***@127.0.0.1" in body


def test_evalkit_view_serves_until_interrupted(tmp_path: Path) -> None:
    history = tmp_path / HISTORY_FILE
    build_history(tmp_path / "runs", str(history))
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "view", "--history", str(history), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"evalkit view of {history}: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].split()[0]
        assert GOOD in fetch(url)[2]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
