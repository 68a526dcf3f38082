"""Build results -> HTML and Markdown reports, per recipe and an index over all recipes.

`recipe_context` gathers what a report shows from the JSON the build wrote (no model is
touched); `render_recipe` / `render_index` turn it into files through Jinja templates in
templates/report/ (a recipe's own `templates:` folder may replace any of them).
Everything is deterministic except the one line that says when the report was made.
"""
from __future__ import annotations

import datetime
from pathlib import Path

from ..bundle import enabled_bundles
from ..graph.step import Step
from ..layout import RecipeLayout, index_reports, read_json, write_bytes
from ..recipe import Recipe
from ..recipe.schema import Quantization
from ..resources import jinja_environment, template_files
from .. import charts, modalities
from ..modalities import report as modalities_report
from .datasets import load_prepared
from .quantdebug import TOP_LAYERS
from .summary import shipped_target

THRESHOLD_ORDER = ("max_size_kb", "max_latency_ms", "min_output_snr_db", "min_output_cosine", "max_gpu_fallback_ops",
                   "max_arena_kb", "max_flash_kb")  # after the kind's own


def chart_names(kind) -> tuple[str, ...]:
    """The charts every report has: sizes, the task's primary metric against size, latency."""
    return ("size", kind.primary, "latency")


def environment(recipe: Recipe | None = None):
    """Jinja for report templates, autoescaping the HTML ones."""
    return jinja_environment(recipe, "report", autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                             md=markdown_cell)


def markdown_cell(value) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, HTML made inert, one line."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def recipe_context(recipe: Recipe, layout: RecipeLayout) -> dict:
    """What the report templates show; its "files" are the kind's own charts (build/<recipe>/charts/)."""
    summary = read_json(layout.summary)
    reference = summary["reference"]
    targets = summary["targets"]
    kind = recipe.kind
    for target in targets:
        target["inspect"] = read_json(layout.inspection(target["name"]))
        if target["quantization"] == Quantization.int8.value and target.get("backend", "converter") == "converter":
            target["quant_debug"] = read_json(layout.quant_debug(target["name"]))
        if layout.mixed(target["name"]).exists():
            target["mixed"] = mixed_context(read_json(layout.mixed(target["name"])), target.get("quant_debug"))
        elif target["quantization"] == Quantization.int16x8.value:
            target["quant_debug"] = {"available": False, "layers": [], "reason": (
                "TensorFlow's QuantizationDebugger measures full-integer int8 quantization only")}
    shipped, why = shipped_target(summary)
    sign = 1 if kind.higher_is_better else -1
    focus = shipped or max(targets, key=lambda t: (sign * t["metrics"][kind.primary], -t["metrics"]["size_bytes"]))["name"]
    focus_target = next(t for t in targets if t["name"] == focus)
    data = load_prepared(layout, "golden_raw", "y_test") if kind.report_reads_data else None
    if kind.report_arrays:
        import numpy as np

        for target in summary["targets"]:  # (kept out of metrics.json: evaluate.write_array)
            target["metrics"].update({name: np.load(layout.report_array(target["name"], name)).tolist()
                                      for name in kind.report_arrays})
    section, files = kind.report_context(summary, focus_target, data)
    modality = modalities.of(recipe)
    if modality.report_files:
        split = load_prepared(layout, "x_test", "y_test")
        shown, pictures = modalities_report.context(recipe, summary, split.x_test, split.y_test)
        section, files = {**section, **shown}, {**files, **pictures}
    thresholds = [name for name in (*kind.thresholds, *THRESHOLD_ORDER) if any(name in t["thresholds"] for t in targets)]
    gate_rows = []
    for target in targets:
        checks = {c["threshold"]: c for c in target["verdict"]["checks"]}
        gate_rows.append({"target": target["name"], "passed": target["verdict"]["passed"],
                          "baseline": target.get("baseline", False),
                          "cells": [checks.get(name) for name in thresholds]})
    charts_by_name = recipe_charts(summary, kind)
    for target in targets:
        if target.get("mixed", {}).get("mode") == "auto":
            charts_by_name[f"mixed-{target['name']}"] = mixed_chart(target)
    charts_by_name.update({name.removesuffix(".svg"): data.decode() for name, data in files.items()
                           if name.endswith(".svg")})
    return {
        "summary": summary, "reference": reference, "targets": targets, "thresholds": thresholds,
        "gate_rows": gate_rows, "shipped": shipped, "shipped_why": why, "focus": focus,
        "focus_is_shipped": focus == shipped, "task": kind.name, "primary": kind.primary_label, "columns": kind.columns,
        "charts": charts_by_name, "chart_names": chart_names(kind), "top_layers": TOP_LAYERS,
        "files": files, "bundles": enabled_bundles(recipe), "modality": modality.name, **section,
    }


def mixed_context(mixed: dict, quant_debug: dict | None) -> dict:
    """mixed.json with each kept op's quantization error (from the debugger, when it measured it)."""
    errors = {layer["tensor"]: layer["rmse_over_scale"] for layer in (quant_debug or {}).get("layers", [])}
    kept = [{**op, "rmse_over_scale": errors.get(op["name"])} for op in mixed["kept"]]
    return {**mixed, "kept": kept}


def mixed_chart(target: dict) -> str:
    """A keep_float search: the task's primary metric against the number of ops kept in float, with its
    absolute limit drawn (min_accuracy, max_mae, min_miou) when the recipe sets one."""
    mixed = target["mixed"]
    metric = mixed["metric"]
    name, limit = next(((n, v) for n, v in mixed["limits"].items() if n in ("min_" + metric, "max_" + metric)),
                       (None, None))
    return charts.scatter(
        f"{target['name']}: {metric} against ops kept in float ({mixed['conversions']} conversions)",
        [(step["how"] if step["passed"] or step["float_layers"] == 0 else "", step["float_layers"], step["value"],
          step["passed"]) for step in mixed["steps"]],
        "ops kept in float", metric, y_limit=limit, y_limit_label=f"{name} {limit:g}" if limit is not None else "")


def recipe_charts(summary: dict, kind) -> dict[str, str]:
    reference, targets = summary["reference"], summary["targets"]
    metric = kind.primary

    def common(name):
        limits = {t["thresholds"].get(name) for t in targets}
        return limits.pop() if len(limits) == 1 else None  # draw a limit only where every target shares it

    size_rows = [(f"unconverted ({reference['format']})", reference["size_bytes"] / 1000,
                  f"{reference['size_bytes'] / 1000:.1f} KB (1.000)", None)]
    size_rows += [(t["name"], t["metrics"]["size_bytes"] / 1000,
                   f"{t['metrics']['size_bytes'] / 1000:.1f} KB ({t['metrics']['size_bytes'] / reference['size_bytes']:.3f})",
                   t["verdict"]["passed"]) for t in targets]
    max_kb, max_ms = common("max_size_kb"), common("max_latency_ms")
    limit_name = next((n for n in (f"min_{metric}", f"max_{metric}") if n in kind.thresholds), None)
    limit = common(limit_name) if limit_name else None
    return {
        "size": charts.bar_chart("Size ladder (KB, ratio to the unconverted model)", size_rows, max_kb,
                                 f"max_size_kb {max_kb:g}" if max_kb is not None else ""),
        metric: charts.scatter(
            f"{kind.primary_label[0].upper()}{kind.primary_label[1:]} against size",
            [(t["name"], t["metrics"]["size_bytes"] / 1000, t["metrics"][metric], t["verdict"]["passed"])
             for t in targets],
            "size (KB)", kind.primary_label, x_limit=max_kb, y_limit=limit,
            x_limit_label=f"max_size_kb {max_kb:g}" if max_kb is not None else "",
            y_limit_label=f"{limit_name} {limit:g}" if limit is not None else ""),
        "latency": charts.bar_chart(
            "Median latency per single-sample invoke (ms, one thread)",
            [(t["name"], t["metrics"]["latency_ms_median"],
              f"{t['metrics']['latency_ms_median']:.3f} ms (p90 {t['metrics']['latency_ms_p90']:.3f})",
              t["verdict"]["passed"]) for t in targets],
            max_ms, f"max_latency_ms {max_ms:g}" if max_ms is not None else ""),
    }


def _built_at() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def step(recipe: Recipe, layout: RecipeLayout) -> Step:
    """report: report.html, report.md and their charts, from what the build wrote (no model is touched)."""
    names = [t.name for t in recipe.spec.targets]
    debugged = [t.name for t in recipe.spec.targets
                if t.quantization == Quantization.int8 and recipe.backend(t) == "converter"]
    mixed = [t.name for t in recipe.spec.targets if t.keep_float is not None]
    searched = [t.name for t in recipe.spec.targets if t.keep_float == "auto"]
    kind = recipe.kind
    modality = modalities.of(recipe)
    return Step("report", "report.html and report.md with charts", render_recipe, (recipe, layout),
                reads=(layout.summary, *(layout.inspection(n) for n in names), *(layout.quant_debug(n) for n in debugged),
                       *(layout.mixed(n) for n in mixed),
                       *((layout.data,) if kind.report_reads_data or modality.report_files else ()),
                       *(layout.report_array(n, a) for n in names for a in kind.report_arrays),
                       *template_files(recipe, "report")),
                writes=(layout.report_html, layout.report_md, *(layout.charts_dir / f"{c}.svg" for c in chart_names(kind)),
                        *(layout.charts_dir / f"mixed-{n}.svg" for n in searched),
                        *(layout.charts_dir / name for name in (*kind.report_files, *modality.report_files))),
                config={"templates": recipe.spec.templates, "ship": recipe.spec.ship,
                        "bundles": [b["platform"] for b in enabled_bundles(recipe)]})


def index_step(recipes: list[Recipe], root: Path) -> Step:
    """reports: build/report.html and build/report.md over every recipe."""
    return Step("reports", "the index of every recipe's report", render_index, (recipes, root),
                reads=(*(RecipeLayout(root, r.name).summary for r in recipes), *template_files(None, "report")),
                writes=index_reports(root), config={"recipes": [r.name for r in recipes]})


def render_recipe(recipe: Recipe, layout: RecipeLayout) -> list[Path]:
    """Write report.html, report.md and charts/*.svg for one recipe; returns the paths."""
    context = recipe_context(recipe, layout)
    env = environment(recipe)
    built_at = _built_at()
    written = []
    files = {f"{name}.svg": svg.encode() for name, svg in context["charts"].items()} | context["files"]
    for name, data in files.items():
        path = layout.charts_dir / name
        write_bytes(path, data)
        written.append(path)
    for template, path in (("recipe.html.j2", layout.report_html), ("recipe.md.j2", layout.report_md)):
        write_bytes(path, env.get_template(template).render(**context, built_at=built_at).encode())
        written.append(path)
    return written


def render_index(recipes: list[Recipe], root: Path) -> list[Path]:
    """build/report.html and build/report.md: every recipe's verdict, shipped target and sizes."""
    rows = []
    for recipe in recipes:
        summary = read_json(RecipeLayout(root, recipe.name).summary)
        shipped, why = shipped_target(summary)
        rows.append({"summary": summary, "shipped": shipped, "why": why, "link": f"{recipe.name}/report"})
    env = environment()
    built_at = _built_at()
    html, md = index_reports(root)
    for template, path in (("index.html.j2", html), ("index.md.j2", md)):
        write_bytes(path, env.get_template(template).render(rows=rows, built_at=built_at).encode())
    return [html, md]
