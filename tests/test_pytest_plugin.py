"""The pytest plugin, run by pytest itself (pytester): collection, selection, verdicts, xdist."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.emulator import Auth, EmulatorServer, Knobs

pytest_plugins = ["pytester"]
# Every run is a subprocess: an in-process run drops, when it ends, the modules first imported
# inside it, and a later test in the same worker then meets two copies of a library (an
# httpcore2 error the HTTP client no longer recognises turned a simulator error into "internal").

FORMS = Path(__file__).resolve().parent.parent / "suites" / "forms"

SUITE = """\
suite: plugin
form: contact
tags: [example]
defaults: {submitted: false}
conversations:
  - id: greeting
    tags: [smoke]
    turns:
      - user: "Hi, I'm Jane Doe, jane@example.com"
        expect: {first_name: Jane, email: jane@example.com}
  - id: wrong-name
    turns:
      - user: "Hi, I'm Omar, omar@example.org"
        expect: {first_name: Oscar}
        reply: {contains: "no such words"}
  - id: twice
    repeat: 2
    turns:
      - user: "I'm Eli, eli@example.com"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(FORMS, pytester.path / "forms")
    pytester.makefile(".eval.yaml", contact=SUITE)
    return pytester


def test_one_item_per_conversation_and_repeat(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--collect-only", "-q")

    result.stdout.fnmatch_lines(
        [
            "contact.eval.yaml::greeting",
            "contact.eval.yaml::wrong-name",
            "contact.eval.yaml::twice[[]1[]]",
            "contact.eval.yaml::twice[[]2[]]",
        ]
    )


def test_a_failure_shows_a_table_with_file_line(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess()

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*contact.eval.yaml:11: plugin/wrong-name failed",
            "*turn*field*expected*actual*reason*",
            '*1*first_name*"Oscar"*"Omar"*expected text "Oscar", got "Omar"*',
            '*1*(reply)*expected text containing "no such words"*',
        ]
    )


@pytest.mark.parametrize(
    ("args", "outcomes"),
    [
        pytest.param(["-k", "greeting"], {"passed": 1, "deselected": 3}, id="k-by-id"),
        pytest.param(["-k", "twice and not 2"], {"passed": 1, "deselected": 3}, id="k-repeat"),
        pytest.param(["-k", "plugin and wrong"], {"failed": 1, "deselected": 3}, id="k-suite"),
        pytest.param(["-m", "smoke"], {"passed": 1, "deselected": 3}, id="m-tag"),
        pytest.param(["-m", "example and not smoke"], {"passed": 2, "failed": 1}, id="m-suite"),
    ],
)
def test_selection_by_id_and_tag(
    project: pytest.Pytester, args: list[str], outcomes: dict[str, int]
) -> None:
    result = project.runpytest_subprocess("--strict-markers", *args)

    result.assert_outcomes(**outcomes)


def test_a_target_that_fails_is_an_error_not_a_failure(project: pytest.Pytester) -> None:
    # Nothing listens on port 9 of loopback (discard): every request fails to connect.
    result = project.runpytest_subprocess(
        "--evalkit-target", "custom", "--evalkit-base-url", "http://127.0.0.1:9", "-k", "greeting"
    )

    result.assert_outcomes(errors=1, deselected=3)
    result.stdout.fnmatch_lines(["*contact.eval.yaml:6: the target failed at session creation*"])


def test_a_broken_suite_is_a_collection_error_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".eval.yaml",
        broken="suite: s\nform: f\nconversations:\n  - id: c\n    turns: [{user: no}]\n",
    )

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.eval.yaml:5: conversations[[]0[]].turns[[]0[]].user*"])


def test_junitxml_carries_the_verdicts(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--junitxml=out.xml")

    result.assert_outcomes(passed=3, failed=1)
    suite = ET.parse(project.path / "out.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["wrong-name"].find("failure")
    assert failure is not None
    assert "expected text" in (failure.text or "")
    properties = {p.get("name"): p.get("value") for p in cases["greeting"].iter("property")}
    assert properties == {"evalkit_status": "pass", "source": "contact.eval.yaml:6"}


def test_runs_under_xdist(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3, failed=1)


KEY, SITE = "IST.plugin-wix-key-0001", "site-plugin-0001"


@pytest.fixture
def wix_like(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """An emulator that wants Wix's API-key headers, with the key in the environment."""
    for name in ("WIX_APP_ID", "WIX_APP_SECRET", "WIX_INSTANCE_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIX_API_KEY", KEY)
    monkeypatch.setenv("WIX_SITE_ID", SITE)
    with EmulatorServer(FORMS, Knobs(auth=Auth(token=KEY, site_id=SITE))) as server:
        yield server.base_url, server.form_ids["contact"]


def test_the_wix_target_maps_form_keys_to_form_ids(
    project: pytest.Pytester, wix_like: tuple[str, str]
) -> None:
    url, contact_id = wix_like
    wix = ["--evalkit-target", "wix", "--evalkit-base-url", url, "--evalkit-rate-limit", "0"]

    mapped = project.runpytest_subprocess(*wix, "--evalkit-form-id", f"contact={contact_id}")
    unknown = project.runpytest_subprocess(
        *wix, "--evalkit-form-id", "contact=no-such-form", "-k", "greeting"
    )

    mapped.assert_outcomes(passed=3, failed=1)
    unknown.assert_outcomes(errors=1, deselected=3)
    unknown.stdout.fnmatch_lines(["*the target failed at session creation (http): HTTP 404*"])


@pytest.mark.parametrize(
    ("limit", "at_least_s"),
    [
        # 8 requests (4 conversations: a session and a turn each). 200 a minute (Wix's, the
        # default) lets 3 go at once, then one every 0.3 s: at least 1.5 s. 120: 2, then 0.5 s.
        pytest.param([], 1.5, id="wix-default-200"),
        pytest.param(["--evalkit-rate-limit", "120"], 3.0, id="given-120"),
    ],
)
def test_the_wix_target_keeps_to_its_rate_limit(
    project: pytest.Pytester, wix_like: tuple[str, str], limit: list[str], at_least_s: float
) -> None:
    url, contact_id = wix_like
    form = ["--evalkit-form-id", f"contact={contact_id}"]
    result = project.runpytest_subprocess(
        "--evalkit-target", "wix", "--evalkit-base-url", url, *form, *limit
    )

    result.assert_outcomes(passed=3, failed=1)
    # A lower bound: a loaded machine only makes the run slower, never faster than its pacing.
    assert result.duration >= at_least_s
