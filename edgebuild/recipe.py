"""Recipes: YAML files -> validated `Recipe` objects, or every problem at once.

Each problem is one line, `file:line: field.path: what was expected; got what`:
pydantic checks types and ranges (`schema.py`), then `_cross_check` checks what
spans fields or touches the file system. YAML is loaded with the safe loader only.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import typing
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from .errors import RecipeError
from .schema import (CALIBRATED, FILE_SOURCES, IMAGE_SOURCES, NAME_PATTERN, DatasetSource, Quantization,
                     RecipeSpec, TargetSpec)

RESERVED_TARGET_NAMES = {"source", "charts", "logs"}
RESERVED_RECIPE_NAMES = {"reports"}  # the doit task that writes build/report.html
DEFAULT_CALIBRATION_SAMPLES = 100

Loc = tuple  # a field path such as ("targets", 3, "quantization")


@dataclass(frozen=True)
class Recipe:
    """A validated recipe with what the build needs resolved: name, labels, hash."""

    file: str  # as shown in messages, relative to the project root where possible
    root: Path  # the project root every relative path in the recipe starts from
    name: str
    spec: RecipeSpec
    labels: tuple[str, ...]
    hash: str

    def path(self, relative: str) -> Path:
        return self.root / relative

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to the project root where it is inside."""
        return _shown(path, self.root)

    @property
    def targets(self) -> list[TargetSpec]:
        return list(self.spec.targets)

    def target(self, name: str) -> TargetSpec:
        return next(t for t in self.spec.targets if t.name == name)

    def thresholds_for(self, target: TargetSpec) -> dict:
        """Recipe-wide thresholds overridden field by field by the target's (null turns one off)."""
        limits = self.spec.thresholds.model_dump(exclude_none=True)
        if target.thresholds is not None:
            for field in target.thresholds.model_fields_set:
                value = getattr(target.thresholds, field)
                if value is None:
                    limits.pop(field, None)
                else:
                    limits[field] = value
        return limits

    def model_hash(self, target: TargetSpec) -> str:
        """A hash of what made one target's model (source, data, preprocessing, labels, conversion), not of
        thresholds or bundle settings: what a bundle records, so a threshold edit leaves bundles alone."""
        spec = self.spec
        parts = [spec.model.model_dump(mode="json"), spec.dataset.model_dump(mode="json"),
                 spec.preprocess.model_dump(mode="json"), list(self.labels),
                 target.model_dump(mode="json", exclude={"thresholds", "name"})]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def calibration_samples(self, target: TargetSpec) -> int:
        return target.calibration_samples or DEFAULT_CALIBRATION_SAMPLES

    def where(self, target: str | None = None) -> str:
        """The prefix of every message about this recipe: `recipes/x.yaml: name/target`."""
        return f"{self.file}: {self.name}" + (f"/{target}" if target else "")


def discover(root: Path) -> list[Path]:
    """The project's recipes: recipes/*.yaml (and .yml), in name order."""
    folder = root / "recipes"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_recipes(paths: list[Path], root: Path) -> list[Recipe]:
    """Load every recipe, or raise one RecipeError listing every problem in every file."""
    recipes, problems = [], []
    for path in paths:
        try:
            recipes.append(load_recipe(path, root))
        except RecipeError as exc:
            problems.extend(exc.problems)
    seen: dict[str, Recipe] = {}
    for recipe in recipes:
        if recipe.name in seen:
            problems.append(f"{recipe.file}: name: '{recipe.name}' is also the name of {seen[recipe.name].file}; "
                            "expected a unique recipe name")
        seen.setdefault(recipe.name, recipe)
    if problems:
        raise RecipeError(problems)
    return recipes


def load_recipe(path: Path, root: Path) -> Recipe:
    path = Path(path)
    shown = _shown(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([f"{shown}: no such recipe file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([f"{shown}: cannot read: {exc}"]) from exc
    data, lines = _parse_yaml(text, shown)
    try:
        spec = RecipeSpec.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_lines(shown, lines, _pydantic_problems(exc))) from None
    labels, label_problems = _labels(spec, root)
    problems = _cross_check(spec, root) + label_problems
    name = spec.name or path.stem.replace("_", "-")
    if name in RESERVED_RECIPE_NAMES:
        problems.append((("name",), f"'{name}' is reserved for the index of all reports; choose another name"))
    if spec.name is None and not re.match(NAME_PATTERN, name):
        problems.append((("name",), f"the file name gives '{name}', which is not a valid recipe name; "
                                     "expected a `name:` of lowercase letters, digits and '-'"))
    if problems:
        raise RecipeError(_lines(shown, lines, problems))
    digest = hashlib.sha256(json.dumps([spec.model_dump(mode="json"), labels], sort_keys=True).encode()).hexdigest()
    return Recipe(file=shown, root=root, name=name, spec=spec, labels=tuple(labels), hash=digest)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- YAML with line numbers ------------------------------------------------------------------

def _parse_yaml(text: str, shown: str) -> tuple[object, dict[Loc, int]]:
    """Safe-load YAML, remembering the line of every key and item; duplicate keys are errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RecipeError([f"{shown}:{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    if node is None:
        raise RecipeError([f"{shown}:1: the file is empty; expected a recipe mapping (name, model, dataset, ...)"])
    lines: dict[Loc, int] = {}
    problems: list[str] = []
    constructor = yaml.constructor.SafeConstructor()

    def build(node, loc: Loc):
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            problems.append(f"{shown}:{node.start_mark.line + 1}: invalid YAML: tag {node.tag} is not allowed "
                            "(recipes are loaded safely)")
            return None
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                child = loc + (key,)
                if key in result:
                    problems.append(f"{shown}:{key_node.start_mark.line + 1}: {_dotted(child)}: "
                                    "duplicate key; expected each field once")
                lines[child] = key_node.start_mark.line + 1
                result[key] = build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, loc + (i,)) for i, item in enumerate(node.value)]
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            problems.append(f"{shown}:{node.start_mark.line + 1}: invalid YAML: {exc.problem}")
            return None

    data = build(node, ())
    if problems:
        raise RecipeError(problems)
    if not isinstance(data, dict):
        raise RecipeError([f"{shown}:1: expected a recipe mapping (name, model, dataset, ...); got {type(data).__name__}"])
    return data, lines


def _lines(shown: str, lines: dict[Loc, int], problems: list[tuple[Loc, str]]) -> list[str]:
    """`file:line: field: message` for each problem, in the order they appear in the file."""
    located = [(_line(lines, loc), loc, msg) for loc, msg in problems]
    return [f"{shown}:{line}: {_dotted(loc)}: {msg}" for line, loc, msg in sorted(located, key=lambda p: p[0])]


def _line(lines: dict[Loc, int], loc: Loc) -> int:
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(recipe)"


# --- pydantic errors -> one line each --------------------------------------------------------

_BRANCH_WORDS = {"str": "a string", "float": "a number", "int": "a whole number", "list[str]": "a list of strings",
                 "list[float]": "a list of numbers"}


def _pydantic_problems(exc: ValidationError) -> list[tuple[Loc, str]]:
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
            problems.append((loc, f"expected {' or '.join(words)}; got {_show(errs[0][0]['input'])}"))
        else:
            for err, _ in errs:
                at = loc[:-1] if err["type"] == "missing" and loc and isinstance(loc[-1], int) else loc
                problems.append((at, _message(err, loc)))
    return problems


def _branch_words(tag: str) -> str:
    """How to say a union branch pydantic names by its type: 'list[str]' -> 'a list of strings'."""
    if tag.startswith("literal["):
        return tag[len("literal["):-1]
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
        return ("expected [height, width]" if loc[-2:-1] == ("resize",) else "too few items") + f"; got {_show(got)}"
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        allowed = _fields_of(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown field; {hint}expected one of {', '.join(allowed)}"
    if kind in ("enum", "literal_error"):
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"expected one of {expected}; got {_show(got)}"
    if kind == "string_pattern_mismatch":
        what = "lowercase letters, digits and '-'" if loc[-1] == "name" and len(loc) == 1 else \
            "lowercase letters, digits, '-' and '_', starting with a letter or digit"
        return f"expected {what}; got {_show(got)}"
    msg = re.sub(r"( after validation)?, not \d+$", "", err["msg"])
    msg = re.sub(r"^(Input|Value|String|List|Tuple) should (be|have)", lambda m: "expected" + (
        "" if m.group(2) == "be" else " to have"), msg)
    return f"{msg[0].lower()}{msg[1:]}; got {_show(got)}"


def _show(value) -> str:
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


# --- checks across fields and on the file system ----------------------------------------------

def _labels(spec: RecipeSpec, root: Path) -> tuple[list[str], list[tuple[Loc, str]]]:
    if isinstance(spec.labels, str):
        path = root / spec.labels
        if not path.is_file():
            return [], [(("labels",), f"labels file {spec.labels} not found; expected a file with one label per line")]
        labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        labels = [str(label) for label in spec.labels]
    if not labels:
        return [], [(("labels",), "expected at least one label")]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        return labels, [(("labels",), f"expected unique labels; repeated: {', '.join(duplicates)}")]
    return labels, []


def _cross_check(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    return [*_check_model(spec, root), *_check_dataset(spec, root), *_check_targets(spec, root)]


def _check_model(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    model, problems = spec.model, []
    given = [field for field in ("keras", "saved_model", "script") if getattr(model, field) is not None]
    if len(given) != 1:
        got = "none" if not given else " and ".join(given)
        return [(("model",), f"expected exactly one of keras, saved_model, script; got {got}")]
    source = given[0]
    if source != "script":
        for field in ("args", "inputs", "isolated"):
            if getattr(model, field):
                problems.append((("model", field), f"only a script takes {field}; this model comes from {source}"))
    if model.keras is not None:
        if not model.keras.endswith((".keras", ".h5")):
            problems.append((("model", "keras"), f"expected a .keras or .h5 file; got {model.keras!r}"))
        elif not (root / model.keras).is_file():
            problems.append((("model", "keras"), f"file {model.keras} not found"))
    if model.saved_model is not None and not (root / model.saved_model / "saved_model.pb").is_file():
        problems.append((("model", "saved_model"),
                         f"{model.saved_model} is not a SavedModel directory; expected it to hold saved_model.pb"))
    if model.script is not None and not (root / model.script).is_file():
        problems.append((("model", "script"), f"file {model.script} not found"))
    for i, extra in enumerate(model.inputs):
        if not (root / extra).exists():
            problems.append((("model", "inputs", i), f"file {extra} not found"))
    return problems


def _check_dataset(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    data, problems = spec.dataset, []
    if data.source in FILE_SOURCES:
        if data.path is None:
            kind = "an .npz file" if data.source == DatasetSource.npz else "a folder of class sub-folders"
            problems.append((("dataset", "path"), f"required for source {data.source.value}; expected {kind}"))
        elif data.source == DatasetSource.npz:
            problems.extend(_check_npz(spec, root))
        elif not (root / data.path).is_dir():
            problems.append((("dataset", "path"), f"folder {data.path} not found"))
    elif data.path is not None:
        problems.append((("dataset", "path"), f"source {data.source.value} takes no path"))
    if "color_mode" in data.model_fields_set and data.source != DatasetSource.image_folder:
        problems.append((("dataset", "color_mode"), "applies to source image_folder only"))
    if spec.preprocess.resize is not None and data.source not in IMAGE_SOURCES:
        problems.append((("preprocess", "resize"), f"applies to image datasets only; {data.source.value} is tabular"))
    norm = spec.preprocess.normalize
    if norm is not None and norm != "fit":
        mean, std = (v if isinstance(v, list) else [v] for v in (norm.mean, norm.std))
        if len(mean) != len(std):
            problems.append((("preprocess", "normalize"),
                             f"expected as many std values as mean values; got {len(std)} and {len(mean)}"))
        if any(s == 0 for s in std):
            problems.append((("preprocess", "normalize", "std"), "expected non-zero values"))
    return problems


def _npz_keys(path: Path) -> set[str] | None:
    """The arrays in an .npz, read from its zip directory so validation never imports numpy."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy") for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile):
        return None


def _check_npz(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    rel = spec.dataset.path
    if not (root / rel).is_file():
        return [(("dataset", "path"), f"file {rel} not found")]
    keys = _npz_keys(root / rel)
    if keys is None:
        return [(("dataset", "path"), f"{rel} is not an .npz file")]
    problems = []
    missing = [k for k in ("x_test", "y_test") if k not in keys]
    if missing:
        problems.append((("dataset", "path"), f"{rel} has no {' or '.join(missing)}; expected x_test and y_test arrays"))
    has_train = {"x_train", "y_train"} <= keys
    if spec.model.script is not None and not has_train:
        problems.append((("model", "script"), f"a training script needs x_train and y_train; {rel} has none"))
    for i, target in enumerate(spec.targets):
        if target.quantization in CALIBRATED and "x_train" not in keys:
            problems.append((("targets", i, "quantization"), f"{target.quantization.value} needs calibration data; "
                             f"expected x_train in {rel}"))
    return problems


def _check_targets(spec: RecipeSpec, root: Path) -> list[tuple[Loc, str]]:
    problems, seen = [], set()
    names = [t.name for t in spec.targets]
    if spec.ship is not None and spec.ship not in names:
        problems.append((("ship",), f"expected one of the target names ({', '.join(names)}); got {spec.ship!r}"))
    if spec.templates is not None and not (root / spec.templates).is_dir():
        problems.append((("templates",), f"folder {spec.templates} not found"))
    for i, target in enumerate(spec.targets):
        if target.name in seen:
            problems.append((("targets", i, "name"), f"expected a unique target name; '{target.name}' is used twice"))
        if target.name in RESERVED_TARGET_NAMES:
            problems.append((("targets", i, "name"), f"'{target.name}' is reserved for build/<recipe>/{target.name}/"))
        seen.add(target.name)
        if target.io is not None and target.quantization != Quantization.int8:
            problems.append((("targets", i, "io"), "applies to int8 targets only"))
        if target.calibration_samples is not None and target.quantization not in CALIBRATED:
            problems.append((("targets", i, "calibration_samples"), "applies to int8 and int16x8 targets only"))
    return problems
