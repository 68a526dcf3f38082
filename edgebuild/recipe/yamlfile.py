"""YAML with line numbers: safe loading only, the line of every key and item, and limits that keep a
hostile file (alias bombs, deep nesting, tags) to one error line instead of a hang or a traceback."""
from __future__ import annotations

import yaml

from ..errors import RecipeError

Loc = tuple  # a field path such as ("targets", 3, "quantization")

MAX_BYTES = 1_000_000  # a recipe is a page of text; anything far larger is not one
MAX_DEPTH = 32  # the schema nests 4 levels deep
MAX_VALUES = 100_000  # values after aliases are expanded: an alias bomb stops here, not in memory
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _TooBig(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, stopping at MAX_DEPTH while composing (its composer recurses per level)."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooBig(f"{mark.line + 1}: invalid YAML: nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _flow_nesting(text: str) -> tuple[int, int]:
    """(deepest [ / { nesting outside quotes and comments, its line): PyYAML's scanner looks ahead
    over nested flow collections in quadratic time, so a deep one is refused before it is scanned."""
    depth = deepest = 0
    line = deepest_line = 1
    quote = None
    comment = False
    for ch in text:
        if ch == "\n":
            line += 1
            comment = False
        elif comment:
            continue
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest, deepest_line


SHALLOW = 2 * MAX_DEPTH  # a line's indentation and "- "/"? " indicators, at most: its block nesting is less


def _compose_fast(text: str):
    """libyaml's composer (about 15 times faster than PyYAML's, 1.4 ms a recipe, on every no-op build), for a
    file every line of which is shallow: its C composer recurses per level with no limit of its own. None when
    the file is not shallow, libyaml is not there, or it finds a fault: PyYAML's own composer then says what
    the fault is, in its words, as before."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or any(len(line) - len(line.lstrip(" \t-?:")) > SHALLOW for line in text.splitlines()):
        return None
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return None


def parse(text: str, shown: str) -> tuple[object, dict[Loc, int]]:
    """Safe-load YAML, remembering the line of every key and item; duplicate keys are errors."""
    if len(text) > MAX_BYTES:
        raise RecipeError([f"{shown}:1: the file has {len(text)} characters; expected a recipe of at most {MAX_BYTES}"])
    if text.count("[") + text.count("{") > MAX_DEPTH:
        deepest, line = _flow_nesting(text)
        if deepest > MAX_DEPTH:
            raise RecipeError([f"{shown}:{line}: invalid YAML: nested more than {MAX_DEPTH} levels deep"])
    try:
        node = _compose_fast(text)
        if node is None:
            node = yaml.compose(text, Loader=_Loader)
    except _TooBig as exc:
        raise RecipeError([f"{shown}:{exc}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RecipeError([f"{shown}:{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    except (yaml.YAMLError, RecursionError) as exc:
        what = "nesting too deep" if isinstance(exc, RecursionError) else str(exc).splitlines()[0]
        raise RecipeError([f"{shown}:1: invalid YAML: {what}"]) from None
    if node is None:
        raise RecipeError([f"{shown}:1: the file is empty; expected a recipe mapping (name, model, dataset, ...)"])
    lines: dict[Loc, int] = {}
    problems: list[str] = []
    constructor = yaml.constructor.SafeConstructor()
    values = 0

    def build(node, loc: Loc):
        nonlocal values
        values += 1
        line = node.start_mark.line + 1
        if values > MAX_VALUES or len(loc) > MAX_DEPTH:
            raise _TooBig(f"{shown}:{line}: invalid YAML: " + (
                f"more than {MAX_VALUES} values once aliases are expanded" if values > MAX_VALUES
                else f"nested more than {MAX_DEPTH} levels deep"))
        lines.setdefault(loc, line)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            problems.append(f"{shown}:{line}: invalid YAML: tag {node.tag} is not allowed (recipes are loaded safely)")
            return None
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                key = scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    problems.append(f"{shown}:{key_line}: {dotted(loc)}: expected field names as plain text; "
                                    f"got a {'key of type ' + type(key).__name__ if key is not None else 'complex key'}")
                    continue
                child = loc + (key,)
                if key in result:
                    problems.append(f"{shown}:{key_line}: {dotted(child)}: duplicate key; expected each field once")
                lines[child] = key_line
                result[key] = build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, loc + (i,)) for i, item in enumerate(node.value)]
        return scalar(node)

    def scalar(node):
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            problems.append(f"{shown}:{node.start_mark.line + 1}: invalid YAML: {exc.problem}")
        except (ValueError, OverflowError) as exc:  # e.g. a date that does not exist
            problems.append(f"{shown}:{node.start_mark.line + 1}: invalid YAML: {node.value!r}: {exc}")
        return None

    try:
        data = build(node, ())
    except _TooBig as exc:
        raise RecipeError([str(exc)]) from None
    if problems:
        raise RecipeError(problems)
    if not isinstance(data, dict):
        raise RecipeError([f"{shown}:1: expected a recipe mapping (name, model, dataset, ...); got {type(data).__name__}"])
    return data, lines


def problem_lines(shown: str, lines: dict[Loc, int], problems: list[tuple[Loc, str]]) -> list[str]:
    """`file:line: field: message` for each problem, in the order they appear in the file."""
    located = [(_line(lines, loc), loc, msg) for loc, msg in problems]
    return [f"{shown}:{line}: {dotted(loc)}: {msg}" for line, loc, msg in sorted(located, key=lambda p: p[0])]


def _line(lines: dict[Loc, int], loc: Loc) -> int:
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc, 1)


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(recipe)"
