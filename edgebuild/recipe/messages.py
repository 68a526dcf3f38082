"""Pydantic's validation errors -> one `(field path, what was expected; got what)` per problem."""
from __future__ import annotations

import difflib
import re
import typing

from pydantic import BaseModel, ValidationError

from .schema import RecipeSpec
from .yamlfile import Loc

_BRANCH_WORDS = {"str": "a string", "float": "a number", "int": "a whole number", "list[str]": "a list of strings",
                 "list[float]": "a list of numbers"}


def pydantic_problems(exc: ValidationError) -> list[tuple[Loc, str]]:
    """Turn pydantic's errors into (field path, message); union branches become one message."""
    grouped: dict[Loc, list[tuple[dict, int]]] = {}
    for err in exc.errors(include_url=False):
        raw = err["loc"]
        loc = _field_loc(raw[:-1]) + raw[-1:] if err["type"] == "extra_forbidden" else _field_loc(raw)
        grouped.setdefault(loc, []).append((err, len(raw) - len(loc)))
    problems = []
    for loc, errs in grouped.items():
        branches = [err for err, dropped in errs if dropped]
        if len(branches) > 1:
            words = sorted({_branch_words(str(b["loc"][len(loc)])) for b in branches})
            problems.append((loc, f"expected {' or '.join(words)}; got {show_value(errs[0][0]['input'])}"))
        else:
            for err, _ in errs:
                at = loc[:-1] if err["type"] == "missing" and loc and isinstance(loc[-1], int) else loc
                problems.append((at, _message(err, loc)))
    return problems


def _branch_words(tag: str) -> str:
    """How to say a union branch pydantic names by its type: 'list[str]' -> 'a list of strings'."""
    if tag.startswith("literal["):
        return tag[len("literal["):-1]
    if tag.startswith("function-"):  # a validated type, such as ProjectPath: say the type underneath
        tag = tag.rsplit(", ", 1)[-1].rstrip("]")
    if tag in _BRANCH_WORDS:
        return _BRANCH_WORDS[tag]
    return "a mapping" if tag[:1].isupper() else tag


def _field_loc(loc: tuple) -> Loc:
    """Keep the parts of a location that are field names or list indexes; drop union-branch tags."""
    kept, model = [], RecipeSpec
    for part in loc:
        if isinstance(part, int):
            kept.append(part)
        elif model is not None and part in model.model_fields:
            kept.append(part)
            model = _submodel(model.model_fields[part].annotation)
    return tuple(kept)


def _submodel(annotation) -> type[BaseModel] | None:
    return next((a for a in _walk_types(annotation) if isinstance(a, type) and issubclass(a, BaseModel)), None)


def _message(err: dict, loc: Loc) -> str:
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing" and loc and isinstance(loc[-1], int):
        return ("expected [height, width]" if loc[-2:-1] == ("resize",) else "too few items") + f"; got {show_value(got)}"
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        allowed = _fields_of(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown field; {hint}expected one of {', '.join(allowed)}"
    if kind in ("enum", "literal_error"):
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"expected one of {expected}; got {show_value(got)}"
    if kind == "value_error":
        return f"{ctx.get('error', err['msg'])}; got {show_value(got)}"
    if kind == "string_pattern_mismatch":
        return f"expected {PATTERNS_IN_WORDS.get(_named(loc), PATTERNS_IN_WORDS['*'])}; got {show_value(got)}"
    if kind == "string_type" and isinstance(got, bool):
        return (f"expected text; got {show_value(got)}: YAML reads a bare yes, no, on, off, true or false as a "
                f"truth value; quote it (\"{'yes' if got else 'no'}\")")
    msg = re.sub(r"( after validation)?, not \d+$", "", err["msg"])
    msg = re.sub(r"^(Input|Value|String|List|Tuple) should (be|have)", lambda m: "expected" + (
        "" if m.group(2) == "be" else " to have"), msg)
    return f"{msg[0].lower()}{msg[1:]}; got {show_value(got)}"


# each pattern's rule in words, by field (a recipe's own name; anything else: target names and the like)
PATTERNS_IN_WORDS = {
    "name": "lowercase letters, digits and '-'",
    "bundles.android.package": "a Kotlin package: two or more parts joined by '.', each a lowercase letter followed "
                               "by lowercase letters, digits or '_' (such as com.example.photos)",
    "bundles.ios.module": "a Swift module name: an uppercase letter followed by letters and digits (such as "
                          "PhotosClassifier)",
    "bundles.android.runtime": "a version number such as 2.3.0",
    "bundles.ios.runtime": "a version number such as 2.17.0",
    "*": "lowercase letters, digits, '-' and '_', starting with a letter or digit",
}


def _named(loc: Loc) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int)) if loc else ""


def show_value(value) -> str:
    """A value as a message quotes it: its repr, cut to 60 characters."""
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_of(loc: Loc) -> list[str]:
    """The field names allowed at a location, for 'unknown field' messages."""
    model: type[BaseModel] | None = RecipeSpec
    for part in loc:
        if isinstance(part, int):
            continue
        model = _submodel(model.model_fields[part].annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _walk_types(annotation):
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _walk_types(arg)
