"""The work budget: pathological minified scripts stop within their steps and keep what was found.

Work is counted in steps (never in seconds), so these tests measure steps.
"""

from __future__ import annotations

import pytest

from audiofetch.detect import detect_page, merge, run_extractors
from audiofetch.extractors import Extractor, OutOfWork, WorkBudget, all_extractors, budget_scope
from audiofetch.extractors._jsresolve import Resolver
from audiofetch.extractors._scripts import page_variables
from audiofetch.page import make_page
from tests.realpages import ternary_chain

URL = "http://127.0.0.1:8000/demo/index.html"


def diamond(n: int) -> str:
    """Two variables per level, each choosing between both of the level before (2**n paths)."""
    parts = ["p0='/a'", "q0='/b'"]
    for i in range(1, n):
        parts.append(f"p{i}=c{i}?p{i - 1}:q{i - 1}")
        parts.append(f"q{i}=d{i}?q{i - 1}+'x':p{i - 1}")
    return "var " + ",".join(parts) + ";"


def doubling(n: int) -> str:
    """Each value twice the one before: strings, arrays and objects of 2**n parts if expanded."""
    lines = ["var s0='ab',l0=['/c'],o0={f:'/d'};"]
    for i in range(1, n):
        lines.append(f"var s{i}=s{i - 1}+s{i - 1},l{i}=[l{i - 1},l{i - 1}],o{i}={{a:o{i - 1},b:o{i - 1}}};")
    return "".join(lines)


def cycle(n: int) -> str:
    """References that go round in circles through conditionals."""
    return "".join(f"var r{i}=k?r{(i + 1) % n}:r{(i + 2) % n}+'/';" for i in range(n))


SHAPES = {"ternary chain": ternary_chain, "diamond": diamond, "doubling": doubling, "cycle": cycle}


def page_with(script: str, extra: str = ""):
    html = (
        "<html><head><title>Demo</title>"
        f"<script>{script}</script><script>const player = new Plyr('#player');</script></head>"
        f'<body><h2>Opening</h2><audio src="/media/opening.mp3"></audio>{extra}</body></html>'
    )
    return make_page(URL, html.encode(), content_type="text/html")


def steps_to_read(script: str) -> int:
    work = WorkBudget()
    with budget_scope(work):
        page_variables(page_with(script))
    return work.used


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_pathological_scripts_cost_steps_in_proportion_to_their_size(shape: str) -> None:
    build = SHAPES[shape]
    small, large = steps_to_read(build(1000)), steps_to_read(build(2000))
    # Twice the script, about twice the work (exponential growth would square it or worse).
    assert large < 3 * small, (small, large)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_pathological_script_does_not_hide_the_page_s_tracks(shape: str) -> None:
    detection = detect_page(page_with(SHAPES[shape](400)))
    assert [(t.url, t.title) for t in detection.tracks] == [
        ("http://127.0.0.1:8000/media/opening.mp3", "Opening")
    ]
    assert detection.notes == ()


def test_the_old_exponential_chain_resolves_with_memoized_lookups() -> None:
    env = {"a0": "/x"}
    script_vars = page_variables(page_with(ternary_chain(300)))
    assert script_vars["a299"].options[0] == "/x"  # type: ignore[union-attr]
    work = WorkBudget()
    with budget_scope(work):
        assert Resolver(env).resolve(env["a0"]) == "/x"
    assert work.used <= 2


def test_a_script_over_the_step_budget_stops_and_the_markup_s_tracks_remain() -> None:
    page = page_with(ternary_chain(3000))
    work = WorkBudget(limit=50_000)
    run = run_extractors(page, all_extractors(), budget=work)
    detection = merge(page, run.findings, notes=run.notes)
    assert [t.url for t in detection.tracks] == ["http://127.0.0.1:8000/media/opening.mp3"]
    assert detection.notes and "need more than 50,000 steps" in detection.notes[0]
    assert work.exhausted
    assert work.used <= work.limit + 8192  # stopped within a flush of the limit


class CancelledAfter(WorkBudget):
    """A budget whose caller cancels it after ``charges`` charges (detect does it when time is up)."""

    def __init__(self, charges: int) -> None:
        super().__init__()
        self.left = charges

    def charge(self, steps: int = 1) -> None:
        self.left -= 1
        if self.left == 0:
            self.cancel()
        super().charge(steps)


def test_cancellation_stops_the_script_reader_at_once_and_keeps_what_was_found() -> None:
    page = page_with(ternary_chain(3000))
    work = CancelledAfter(50)
    run = run_extractors(page, all_extractors(), budget=work)
    assert work.cancelled
    names = [finding.source for finding in run.findings]
    assert "html5_audio" in names  # markup ran before the script readers
    assert not {"plyr", "howler", "jplayer"} & set(names)  # nothing ran after the cancellation
    assert any("time budget ended" in note for note in run.notes)
    detection = merge(page, run.findings, notes=run.notes)
    assert [t.url for t in detection.tracks] == ["http://127.0.0.1:8000/media/opening.mp3"]


def test_out_of_work_is_not_a_value_error_so_lenient_fallbacks_never_swallow_it() -> None:
    assert not issubclass(OutOfWork, ValueError)
    work = WorkBudget(limit=10)
    with pytest.raises(OutOfWork) as caught:
        work.charge(11)
    assert caught.value.cancelled is False


def test_each_script_is_scanned_once_per_page_whatever_the_number_of_extractors() -> None:
    from audiofetch.extractors._jsscan import _scan

    page = page_with(ternary_chain(50) + "var extra = '/media/extra.mp3'; new Howl({src: [extra]});")
    _scan.cache_clear()
    detect_page(page)
    info = _scan.cache_info()
    scripts = [s for s in page.scripts if s.text.strip()]
    assert info.misses == len(scripts)  # one scan per script text
    assert info.hits >= len(scripts)  # ... shared by the other extractors that read it


class Refuses(Extractor):
    """An extractor that does not recognise the page, and counts how often it is asked to extract."""

    name = "refuses"
    description = "never applies"
    calls = 0

    def detects(self, page) -> bool:
        return False

    def extract(self, page):
        Refuses.calls += 1
        return []


def test_extractors_whose_detects_is_false_do_not_run() -> None:
    page = page_with("var a = 1;")
    run = run_extractors(page, (Refuses(), *all_extractors()))
    assert Refuses.calls == 0
    assert run.findings[0].source == "refuses"
    assert run.findings[0].tracks == ()
