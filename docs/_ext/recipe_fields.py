"""A Sphinx extension: the recipe field reference, written from edgebuild's JSON Schema when the docs build,
so that it cannot drift from the code (`edgebuild schema` prints the same schema).

It writes `_generated/recipe-fields.md` (excluded from the pages; `recipes.md` includes it): one table per
part of a recipe, a row per field with its type, default and description.
"""
from __future__ import annotations

import json
from pathlib import Path


def _type(spec: dict, defs: dict) -> str:
    if "$ref" in spec:
        target = defs[spec["$ref"].rsplit("/", 1)[1]]
        if "enum" in target:
            return "one of " + ", ".join(f"`{v}`" for v in target["enum"])
        return "mapping (below)"
    if "anyOf" in spec:
        kinds = [_type(s, defs) for s in spec["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in spec:
        return "one of " + ", ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type")
    if kind == "array":
        if "prefixItems" in spec:
            return "[" + ", ".join(_type(s, defs) for s in spec["prefixItems"]) + "]"
        return f"list of {_type(spec.get('items', {}), defs)}"
    bounds = [f"{word} {spec[key]}" for key, word in (("exclusiveMinimum", ">"), ("minimum", "≥"),
                                                     ("exclusiveMaximum", "<"), ("maximum", "≤")) if key in spec]
    return (kind or "any") + (f" ({', '.join(bounds)})" if bounds else "")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rows(name: str, model: dict, defs: dict, tables: list, seen: set) -> None:
    rows, nested = [], []
    required = set(model.get("required", []))
    for field, spec in model.get("properties", {}).items():
        default = spec.get("default")
        shown = ("required" if field in required else "") if "default" not in spec else \
            "none" if default is None else f"`{json.dumps(default)}`"
        rows.append(f"| `{field}` | {_cell(_type(spec, defs))} | {_cell(shown)} | {_cell(spec.get('description', ''))} |")
        for ref in _refs(spec):
            target = defs[ref]
            if "properties" in target and ref not in seen:
                seen.add(ref)
                nested.append((f"{name}.{field}" if name else field, target))
    tables.append((name, model.get("description", ""), rows))
    for child, target in nested:
        _rows(child + ("[]" if child.endswith("targets") else ""), target, defs, tables, seen)


def _refs(spec: dict):
    for key in ("$ref",):
        if key in spec:
            yield spec[key].rsplit("/", 1)[1]
    for part in spec.get("anyOf", []) + ([spec["items"]] if isinstance(spec.get("items"), dict) else []):
        yield from _refs(part)


def reference(schema: dict) -> str:
    defs = schema.get("$defs", {})
    tables: list = []
    _rows("", schema, defs, tables, set())
    out = ["<!-- generated from edgebuild's JSON Schema by docs/_ext/recipe_fields.py: do not edit -->", ""]
    for name, description, rows in tables:
        out += [f"### `{name}`" if name else "### The recipe's top level", ""]
        if description and name:
            out += [" ".join(description.split()), ""]
        out += ["| field | type | default | what it is |", "|---|---|---|---|", *rows, ""]
    return "\n".join(out)


def _write(app) -> None:
    from edgebuild.recipe.schema import json_schema

    folder = Path(app.srcdir) / "_generated"
    folder.mkdir(exist_ok=True)
    text = reference(json_schema())
    path = folder / "recipe-fields.md"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    app.connect("builder-inited", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
