"""Build results -> HTML and Markdown reports, per recipe and an index over all recipes.

`recipe_context` gathers what a report shows from the JSON the build wrote (no model is
touched); `render_recipe` / `render_index` turn it into files through Jinja templates in
templates/report/ (a recipe's own `templates:` folder may replace any of them).
Everything is deterministic except the one line that says when the report was made.
"""
from __future__ import annotations

import datetime
from pathlib import Path

from . import charts
from .layout import RecipeLayout, index_reports, read_json, write_bytes
from .quantdebug import TOP_LAYERS
from .recipe import Recipe
from .resources import jinja_environment, template_files
from .schema import Quantization
from .step import Step
from .summary import shipped_target

THRESHOLD_ORDER = ("min_accuracy", "max_accuracy_drop", "max_size_kb", "max_latency_ms", "min_output_snr_db",
                   "min_output_cosine")
CHART_NAMES = ("size", "accuracy", "latency")


def environment(recipe: Recipe | None = None):
    """Jinja for report templates, autoescaping the HTML ones."""
    return jinja_environment(recipe, "report", autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                             md=markdown_cell)


def markdown_cell(value) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, HTML made inert, one line."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def recipe_context(recipe: Recipe, layout: RecipeLayout) -> dict:
    summary = read_json(layout.summary)
    reference = summary["reference"]
    targets = summary["targets"]
    for target in targets:
        target["inspect"] = read_json(layout.inspection(target["name"]))
        if target["quantization"] == Quantization.int8.value and target.get("backend", "converter") == "converter":
            target["quant_debug"] = read_json(layout.quant_debug(target["name"]))
        if layout.mixed(target["name"]).exists():
            target["mixed"] = mixed_context(read_json(layout.mixed(target["name"])), target.get("quant_debug"))
        elif target["quantization"] == Quantization.int16x8.value:
            target["quant_debug"] = {"available": False, "layers": [], "reason": (
                "TensorFlow's QuantizationDebugger measures full-integer int8 quantization only")}
    shipped, why = shipped_target(summary, recipe.spec.ship)
    focus = shipped or max(targets, key=lambda t: (t["metrics"]["accuracy"], -t["metrics"]["size_bytes"]))["name"]
    focus_target = next(t for t in targets if t["name"] == focus)
    confusion = focus_target["metrics"]["confusion"]
    per_class = [(label, row[i], sum(row), row[i] / sum(row) if sum(row) else None)
                 for i, (label, row) in enumerate(zip(summary["labels"], confusion))]
    thresholds = [name for name in THRESHOLD_ORDER if any(name in t["thresholds"] for t in targets)]
    gate_rows = []
    for target in targets:
        checks = {c["threshold"]: c for c in target["verdict"]["checks"]}
        gate_rows.append({"target": target["name"], "passed": target["verdict"]["passed"],
                          "cells": [checks.get(name) for name in thresholds]})
    charts_by_name = recipe_charts(summary)
    for target in targets:
        if target.get("mixed", {}).get("mode") == "auto":
            charts_by_name[f"mixed-{target['name']}"] = mixed_chart(target)
    return {
        "summary": summary, "reference": reference, "targets": targets, "thresholds": thresholds,
        "gate_rows": gate_rows, "shipped": shipped, "shipped_why": why, "focus": focus,
        "focus_is_shipped": focus == shipped, "confusion": confusion, "per_class": per_class,
        "charts": charts_by_name, "chart_names": CHART_NAMES, "top_layers": TOP_LAYERS,
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


def recipe_charts(summary: dict) -> dict[str, str]:
    reference, targets = summary["reference"], summary["targets"]

    def common(name):
        limits = {t["thresholds"].get(name) for t in targets}
        return limits.pop() if len(limits) == 1 else None  # draw a limit only where every target shares it

    size_rows = [(f"unconverted ({reference['format']})", reference["size_bytes"] / 1000,
                  f"{reference['size_bytes'] / 1000:.1f} KB (1.000)", None)]
    size_rows += [(t["name"], t["metrics"]["size_bytes"] / 1000,
                   f"{t['metrics']['size_bytes'] / 1000:.1f} KB ({t['metrics']['size_bytes'] / reference['size_bytes']:.3f})",
                   t["verdict"]["passed"]) for t in targets]
    max_kb, min_acc, max_ms = common("max_size_kb"), common("min_accuracy"), common("max_latency_ms")
    return {
        "size": charts.bar_chart("Size ladder (KB, ratio to the unconverted model)", size_rows, max_kb,
                                 f"max_size_kb {max_kb:g}" if max_kb is not None else ""),
        "accuracy": charts.scatter(
            "Accuracy against size", [(t["name"], t["metrics"]["size_bytes"] / 1000, t["metrics"]["accuracy"],
                                       t["verdict"]["passed"]) for t in targets],
            "size (KB)", "accuracy", x_limit=max_kb, y_limit=min_acc,
            x_limit_label=f"max_size_kb {max_kb:g}" if max_kb is not None else "",
            y_limit_label=f"min_accuracy {min_acc:g}" if min_acc is not None else ""),
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
    return Step("report", "report.html and report.md with charts", render_recipe, (recipe, layout),
                reads=(layout.summary, *(layout.inspection(n) for n in names), *(layout.quant_debug(n) for n in debugged),
                       *(layout.mixed(n) for n in mixed), *template_files(recipe, "report")),
                writes=(layout.report_html, layout.report_md, *(layout.charts_dir / f"{c}.svg" for c in CHART_NAMES),
                        *(layout.charts_dir / f"mixed-{n}.svg" for n in searched)),
                config={"templates": recipe.spec.templates, "ship": recipe.spec.ship})


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
    for name, svg in context["charts"].items():
        path = layout.charts_dir / f"{name}.svg"
        write_bytes(path, svg.encode())
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
        shipped, why = shipped_target(summary, recipe.spec.ship)
        rows.append({"summary": summary, "shipped": shipped, "why": why, "link": f"{recipe.name}/report"})
    env = environment()
    built_at = _built_at()
    html, md = index_reports(root)
    for template, path in (("index.html.j2", html), ("index.md.j2", md)):
        write_bytes(path, env.get_template(template).render(rows=rows, built_at=built_at).encode())
    return [html, md]
