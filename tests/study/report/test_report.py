"""The study's HTML report: built from fixture results and opened in headless Chromium.

The report is built from the tables and DataTrees of a real run of ``config/tiny.yaml``
(``tiny_run`` in conftest.py). Set ``PMCGRAD_REPORT_RESULTS=results`` to build from another
run's results instead (the default study's, say), and
``PMCGRAD_UPDATE_SCREENSHOT=1`` to refresh ``docs/report-top.png``.
"""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

import pmcgrad
from pmcgrad.study.columns import CONTRACTS, RUNTIME_COLUMNS
from pmcgrad.study.report import (
    CHAPTERS,
    MAX_BYTES,
    REPORT_FIGURES,
    REPORT_INPUTS,
    SECTIONS,
    build_report,
    build_report_from_results,
)
from pmcgrad.study.report.inputs import INPUT_KINDS
from pmcgrad.study.tables import TableError

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TINY_CONFIG = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


def _write_benchmarks(directory: Path) -> list[Path]:
    """Two Snakemake benchmark files in Snakemake's TSV layout."""
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
    paths = []
    for rule, job, seconds in (("gradient", "toy_k4_seed0", 3.2), ("model", "k4_seed0", 12.5)):
        path = directory / rule / f"{job}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{header}\n{seconds}\t0:00:0{int(seconds) % 10}\t350.1\t900.2\t340.0"
                        f"\t345.0\t0.1\t2.0\t95.0\t{seconds}\n")
        paths.append(path)
    return paths


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results_dir(request) -> Path:
    """The study's results: the tiny config's run, or ``PMCGRAD_REPORT_RESULTS`` when set."""
    real = os.environ.get("PMCGRAD_REPORT_RESULTS")
    if real:
        path = Path(real)
        return path if path.is_absolute() else REPO / path
    return request.getfixturevalue("tiny_run") / "results"


@pytest.fixture(scope="module")
def built(results_dir, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    benchmarks = _write_benchmarks(out / "benchmarks")
    bench = out / "bench" / "fit_step.csv"
    bench.parent.mkdir()
    pd.DataFrame(
        [{"name": "fit_step_ms[disarm]", "value": 0.11, "unit": "ms", "note": "8 evaluations"},
         {"name": "fit_step_ratio[disarm]", "value": 1.4, "unit": "ratio",
          "note": "target <= 2: PASS"},
         {"name": "fit_step_ratio[arm]", "value": 2.6, "unit": "ratio",
          "note": "target <= 2: FAIL"}],
        columns=RUNTIME_COLUMNS,
    ).to_csv(bench, index=False)
    html = build_report_from_results(
        results_dir, out / "index.html", config=TINY_CONFIG, benchmarks=benchmarks,
        benchmark_suite=[bench], figures_dir=out / "figures",
        command="pytest tests/study/report/test_report.py",
    )
    return {"html": html, "figures": out / "figures"}


class _Page(HTMLParser):
    """Collects the ids and headings of sections, the links and sources, and the captions."""

    def __init__(self):
        super().__init__()
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.captions: list[str] = []
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        for key in ("src", "href", "action", "data", "poster"):
            if attrs.get(key):
                self.urls.append(attrs[key])
        if tag in ("h2", "figcaption") and self._in is None:
            self._in, self._text = tag, []

    def handle_endtag(self, tag):
        if tag == self._in:
            text = "".join(self._text).strip()
            (self.headings if tag == "h2" else self.captions).append(text)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)


def _parse(path: Path) -> _Page:
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --- tests ---------------------------------------------------------------------------------

def test_chapters_declare_inputs_the_report_knows():
    """Every chapter's needs are report inputs, and REPORT_INPUTS is exactly their union."""
    assert {name for chapter in CHAPTERS for name in chapter.needs} == set(REPORT_INPUTS)
    assert set(REPORT_INPUTS) <= set(INPUT_KINDS)
    assert [c.id for c in CHAPTERS] == [section_id for section_id, _ in SECTIONS]


def test_an_input_no_chapter_reads_is_refused(tmp_path):
    """A misspelt input name is an error, not an input silently left out."""
    with pytest.raises(ValueError, match=r"'gradients'.*read by no chapter"):
        build_report(tmp_path / "index.html", {"gradients": tmp_path / "gradient.csv"})


def test_sections_are_present_in_order(built):
    """Each section of the brief has its stable id and heading, in the brief's order."""
    page = _parse(built["html"])
    assert page.sections == [section_id for section_id, _ in SECTIONS]
    titles = [title for _, title in SECTIONS]
    assert [h for h in page.headings if h in titles] == titles


def test_page_is_self_contained(built):
    """No script, no URL other than in-page anchors and data: URIs, and under 15 MB."""
    html = built["html"].read_text(encoding="utf-8")
    page = _parse(built["html"])
    assert built["html"].stat().st_size < MAX_BYTES
    assert "script" not in page.tags
    for url in page.urls:
        assert url.startswith(("data:", "#")), url
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html)
    assert "<math" in html and "<mfrac>" in html


def test_every_caption_reports_this_run(built):
    """Each figure caption says what to look at and quotes numbers from this run."""
    captions = _parse(built["html"]).captions
    assert len(captions) >= 8
    for text in captions:
        assert "What to look at:" in text and "In this run:" in text
        run = text.split("In this run:", 1)[1]
        assert re.search(r"\d", run), text


def test_estimator_table_is_generated_from_the_registry(built):
    """The estimator table lists every registered estimator beside the closed forms."""
    html = built["html"].read_text(encoding="utf-8")
    table = html.split('id="estimator-table"', 1)[1].split("</table>", 1)[0]
    for row in pmcgrad.estimator_table():
        assert f"<code>{row['name']}</code>" in table
    # arm: (1 - 2t)^2 / 48 at t = 0.49, and reinforce_loo (S = 2): (1 - 2t)^2 / 16
    assert "8.33×10<sup>-6</sup>" in table
    assert "2.50×10<sup>-5</sup>" in table


def test_bias_captions_state_the_rule_the_study_applied(built):
    """The bias section states the corrected threshold z_k, with the run's values from
    bias_threshold, not a flat 4 s.e."""
    from pmcgrad.study.gradient import bias_threshold
    from pmcgrad.study.report.page import fmt

    html = built["html"].read_text(encoding="utf-8")
    section = html.split('<section id="bias">', 1)[1].split("</section>", 1)[0]
    k_max = max(TINY_CONFIG["gradient"]["k"])
    assert f"{fmt(bias_threshold(k_max))} at k = {k_max}" in section
    assert "4 s.e." not in section and "within 4 standard errors" not in section


def test_bias_section_shows_uniform_naive_off(built):
    """The bias caption reports uniform_naive outside the error band."""
    html = built["html"].read_text(encoding="utf-8")
    section = html.split('<section id="bias">', 1)[1].split("</section>", 1)[0]
    match = re.search(r"<code>uniform_naive</code> \(biased by construction\) is outside in "
                      r"(\d+) of (\d+)", section)
    assert match and int(match.group(1)) > 0


def test_benchmark_suite_tables_are_shown_with_their_targets(built):
    """The suite's ratios get a figure whose caption counts the targets met."""
    html = built["html"].read_text(encoding="utf-8")
    section = html.split('<section id="performance">', 1)[1].split("</section>", 1)[0]
    assert "<h3>fit_step</h3>" in section and 'id="fig-bench_fit_step"' in section
    assert "1 of 2 stated targets met" in section
    assert 'id="no-benchmarks"' not in section
    assert 'id="rules-table"' in html


def test_report_figures_are_written_for_snakemake(built):
    """The figures Snakemake's --report registers exist as PNG files."""
    for key in REPORT_FIGURES:
        data = (built["figures"] / f"{key}.png").read_bytes()
        assert data.startswith(b"\x89PNG")


def test_missing_optional_inputs_give_sentences(results_dir, tmp_path):
    """Without runtimes, models, traces or benchmarks the page still builds and says so."""
    html = build_report(tmp_path / "index.html",
                        {"gradient": results_dir / "gradient.csv",
                         "runtimes": tmp_path / "absent.csv"},
                        figures_dir=tmp_path / "figures").read_text(encoding="utf-8")
    assert 'id="no-benchmarks"' in html
    assert 'id="no-rule-runtimes"' in html
    assert "No model study in this run" in html
    assert _parse(tmp_path / "index.html").sections == [s for s, _ in SECTIONS]
    assert (tmp_path / "figures" / "forest.png").exists()  # a placeholder


def test_missing_datatrees_leave_the_model_study_without_arviz_plots(results_dir, tmp_path):
    """model.csv naming DataTrees that are gone: a note, and the rest of section 7 still."""
    shutil.copy(results_dir / "model.csv", tmp_path / "model.csv")
    html = build_report(tmp_path / "index.html",
                        {"model": tmp_path / "model.csv",
                         "model_traces": results_dir / "model_traces.csv"}
                        ).read_text(encoding="utf-8")
    section = html.split('<section id="model">', 1)[1].split("</section>", 1)[0]
    assert "were not given" in section
    assert "no ArviZ plots in this run" in section
    assert 'id="fig-inclusion"' in section


def test_a_table_without_a_contract_column_is_refused(results_dir, tmp_path):
    """A table that lacks a contract column stops the build with the column's name."""
    frame = pd.read_csv(results_dir / "chain.csv").drop(columns=["closed_form"])
    frame.to_csv(tmp_path / "chain.csv", index=False)
    with pytest.raises(TableError, match="closed_form"):
        build_report(tmp_path / "index.html", {"chain": tmp_path / "chain.csv"})


def test_a_failed_build_leaves_the_last_report(results_dir, tmp_path):
    """The page is written beside its target and renamed: a build that fails on a damaged
    table leaves the previous report byte for byte, and names the table."""
    out = tmp_path / "index.html"
    out.write_text("the last good report")
    text = (results_dir / "chain.csv").read_text()
    (tmp_path / "chain.csv").write_text(text[:-5])  # cut inside the last row
    with pytest.raises(TableError, match=r"chain\.csv' is truncated"):
        build_report(out, {"chain": tmp_path / "chain.csv"})
    assert out.read_text() == "the last good report"
    assert list(tmp_path.glob(".index*")) == []  # no temporary file left behind


def test_study_tables_follow_their_contracts(results_dir):
    """Every table of the run reads back under its contract (header, types, keys)."""
    from pmcgrad.study.tables import read_table

    for name in ("gradient", "chain", "optimisation", "model", "model_traces", "sbn",
                 "runtimes"):
        assert len(read_table(results_dir / f"{name}.csv", CONTRACTS[name])) > 0, name


def _chromium_or_skip() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is missing (pip install -e '.[dev]')"
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the browser test must run in CI: {reason}")
    pytest.skip(reason)


@pytest.mark.slow
def test_report_opens_cleanly_in_chromium(built, tmp_path):
    """Headless Chromium renders the page offline: no console error, no request to any host,
    every section heading shown, every image decoded, MathML laid out."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    html = built["html"]
    url = html.resolve().as_uri()
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console",
                    lambda message: errors.append(message.text) if message.type == "error"
                    else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            for section_id, title in SECTIONS:
                heading = page.locator(f"section#{section_id} > h2")
                assert heading.inner_text().strip() == title
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
            assert len(images) >= 8
            for alt, width, height in images:
                assert width > 0 and height > 0, alt
            fraction = page.evaluate(
                "(() => { const f = document.querySelector('mfrac');"
                " const r = f.getBoundingClientRect(); return [r.width, r.height]; })()")
            assert fraction[0] > 0 and fraction[1] > 0
            shot = tmp_path / "report-top.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("PMCGRAD_UPDATE_SCREENSHOT") == "1":
        target = REPO / "docs" / "report-top.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)
    assert not errors, errors
    others = [u for u in requests if u != url and not u.startswith("data:")]
    assert not others, others
    assert html.stat().st_size < MAX_BYTES
