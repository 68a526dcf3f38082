"""Reports: written even when a gate fails, escaped, deterministic, and shown by a real browser offline."""
import re
import shutil

import pytest

BUILT_AT = re.compile(r"Report made at [^<\n]*")
NASTY = ["<script>alert(1)</script>", "a & b", "x|y"]


@pytest.fixture
def nasty_project(iris_project):
    iris_project.edit("recipes/iris.yaml", "labels: [setosa, versicolor, virginica]",
                      'labels: ["<script>alert(1)</script>", "a & b", "x|y"]')
    iris_project.edit("recipes/iris.yaml", "name: iris", "name: iris\ndescription: Iris <b>bold</b> & co")
    return iris_project


def test_reports_and_index_are_written_with_charts(iris_project):
    assert iris_project.build().exit_code == 0
    for name in ("build/iris/report.html", "build/iris/report.md", "build/report.html", "build/report.md",
                 "build/iris/charts/size.svg", "build/iris/charts/accuracy.svg", "build/iris/charts/latency.svg"):
        assert iris_project.path(name).stat().st_size > 0, name
    md = iris_project.path("build/iris/report.md").read_text()
    assert "![size](charts/size.svg)" in md and "| fp32 |" in md
    assert "## Where int8 (int8) loses precision" in md and "RMSE / scale" in md
    assert "[iris](iris/report.md)" in iris_project.path("build/report.md").read_text()


def test_labels_and_text_are_escaped(nasty_project):
    assert nasty_project.build().exit_code == 0
    html = nasty_project.path("build/iris/report.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b" in html and "Iris &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    md = nasty_project.path("build/iris/report.md").read_text()
    assert "| x\\|y |" in md and "| &lt;script&gt;alert(1)&lt;/script&gt; |" in md and "| a &amp; b |" in md
    svg = nasty_project.path("build/iris/charts/size.svg").read_text()
    assert "<script" not in svg


def test_reports_are_deterministic_but_for_the_build_time(iris_project):
    iris_project.build()
    first = {p: p.read_text() for p in iris_project.path("build").rglob("report.*")}
    charts = {p: p.read_bytes() for p in iris_project.path("build").rglob("*.svg")}
    for path in [*first, *charts]:
        path.unlink()
    # same inputs (latency is measured anew by a full rebuild, so only the reports are made again)
    rebuilt = iris_project.build().executed
    assert rebuilt[0] == "iris:report" and "reports" in rebuilt and not [t for t in rebuilt if "/" in t]
    for path, text in first.items():
        assert BUILT_AT.sub("", path.read_text()) == BUILT_AT.sub("", text), path
        assert len(BUILT_AT.findall(text)) == 1
    assert {p: p.read_bytes() for p in charts} == charts


def test_report_rebuild_never_reconverts(iris_project):
    iris_project.build()
    (iris_project.root / "mine" / "report").mkdir(parents=True)
    (iris_project.root / "mine" / "report" / "recipe.md.j2").write_text("# my own report for {{ summary.recipe }}\n")
    iris_project.edit("recipes/iris.yaml", "name: iris", "name: iris\ntemplates: mine")
    result = iris_project.build()
    assert not [t for t in result.executed if "convert" in t or "evaluate" in t]
    assert "iris:report" in result.executed
    assert iris_project.path("build/iris/report.md").read_text() == "# my own report for iris\n"


def test_failed_gate_is_red_in_the_report(iris_project):
    iris_project.edit("recipes/iris.yaml", "max_size_kb: 50", "max_size_kb: 1")
    result = iris_project.build()
    assert result.exit_code == 1
    html = iris_project.path("build/iris/report.html").read_text()
    from markupsafe import escape

    assert result.failures
    for line in result.failures:
        assert f'<li class="message">{escape(line)}</li>' in html
    assert 'class="fail">FAILED</td>' in html


def test_report_in_headless_chromium_offline(nasty_project, tmp_path):
    from playwright.sync_api import sync_playwright

    assert nasty_project.build().exit_code == 0
    page_url = nasty_project.path("build/iris/report.html").resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        problems, requests, dialogs = [], [], []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(page_url)
        page.wait_for_load_state("networkidle")
        assert problems == [] and dialogs == []
        assert requests == [page_url]  # nothing fetched: no CDN, no fonts, no scripts
        for name in ("size", "accuracy", "latency"):
            chart = page.locator(f"#chart-{name} svg")
            assert chart.is_visible()
            box = chart.bounding_box()
            assert box["width"] > 300 and box["height"] > 100
            shot = tmp_path / f"{name}.png"
            chart.screenshot(path=str(shot))
            assert _coloured_pixels(shot) > 200, name  # bars and points really drawn
        assert page.locator("#confusion td", has_text="<script>alert(1)</script>").count() == 1
        browser.close()


def _coloured_pixels(png) -> int:
    """Pixels that are neither white nor grey: the chart's green, red and orange marks."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return int((spread > 60).sum())
