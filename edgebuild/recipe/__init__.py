"""Recipes: YAML files -> validated `Recipe` objects, or every problem at once.

Each problem is one line, `file:line: field.path: what was expected; got what`:

    yamlfile.py   safe YAML with the line of every key (and limits against hostile files)
    schema.py     pydantic checks types and ranges;  messages.py  says what went wrong in words
    checks.py     what spans fields or touches the file system
    here          the `Recipe` object the build uses, and loading one or many files
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..errors import RecipeError
from . import checks
from .messages import pydantic_problems
from ..tflite.flatbuffer import SourceFacts
from .schema import NAME_PATTERN, DetectionSpec, Preprocess, Quantization, RecipeSpec, TargetSpec
from .yamlfile import parse, problem_lines

RESERVED_TARGET_NAMES = checks.RESERVED_TARGET_NAMES
INDEX_TASK = "reports"  # the doit task that writes build/report.html over every recipe
PRUNE_TASK = "prune"  # the doit task that removes what no step writes
RESERVED_RECIPE_NAMES = {INDEX_TASK, PRUNE_TASK}  # a recipe's name is its doit basename
DEFAULT_CALIBRATION_SAMPLES = 100


@dataclass(frozen=True)
class Recipe:
    """A validated recipe with what the build needs resolved: name, labels, hash."""

    file: str  # as shown in messages, relative to the project root where possible
    root: Path  # the project root every relative path in the recipe starts from
    name: str
    spec: RecipeSpec
    labels: tuple[str, ...]
    hash: str
    preprocess: Preprocess | None = None  # what the build applies: the recipe's, or a .tflite source's own
    preprocess_note: str | None = None  # where the recipe's preprocessing differs from the model's metadata
    source_facts: SourceFacts | None = None  # a .tflite source's tensors and metadata, read when loaded
    front_end_by_default: tuple[str, ...] = ()  # int8 targets of a sound recipe given keep_float: front_end

    def __post_init__(self):
        if self.preprocess is None:
            object.__setattr__(self, "preprocess", self.spec.preprocess)

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

    @property
    def detection(self) -> DetectionSpec:
        """The post-processing settings of a detector: the recipe's `detection:` block, or its defaults."""
        return self.spec.detection or DetectionSpec()

    @property
    def pytorch(self) -> bool:
        """A PyTorch program (given, or saved by the recipe's script): built without TensorFlow."""
        from .checks import is_pytorch

        return is_pytorch(self.spec)

    @property
    def kind(self):
        """The task kind (`edgebuild.kinds`): what the steps ask about labels, metrics, thresholds, bundles."""
        from ..kinds import kind_of

        return kind_of(self.spec)

    def backend(self, target: TargetSpec) -> str:
        """"converter" or "litert_quantizer": what quantizes this target (see checks.backend)."""
        from .checks import backend

        return backend(self.spec, target)

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
        dataset = spec.dataset.identity()
        if spec.dataset.test_path is None:
            dataset.pop("test_path")
        parts = [spec.model.identity(), dataset,  # (test_path came later: unset, hashes stay as they were)
                 self.preprocess.model_dump(mode="json"), list(self.labels),
                 target.model_dump(mode="json", exclude={"thresholds", "name"})]
        if spec.task.value != "classification":  # (classification's hash is what it was before tasks existed)
            parts.append(spec.task.value)
        if spec.detection is not None:
            parts.append(spec.detection.model_dump(mode="json"))
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
    data, lines = parse(text, shown)
    try:
        spec = RecipeSpec.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(problem_lines(shown, lines, pydantic_problems(exc))) from None
    facts, problems = checks.read_source_facts(spec, root)
    labels, label_problems = checks.labels(spec, root, facts)
    preprocess, note, preprocess_problems = checks.preprocessing(spec, facts)
    problems += checks.cross_check(spec, root) + label_problems + preprocess_problems
    problems += checks.quantized_source_problems(spec, facts)
    name = spec.name or path.stem.replace("_", "-")
    if name in RESERVED_RECIPE_NAMES:
        problems.append((("name",), f"'{name}' is reserved for a task of edgebuild's own; choose another name"))
    if spec.name is None and not re.match(NAME_PATTERN, name):
        problems.append((("name",), f"the file name gives '{name}', which is not a valid recipe name; "
                                     "expected a `name:` of lowercase letters, digits and '-'"))
    problems += _app_name_problems(spec, name)
    if problems:
        raise RecipeError(problem_lines(shown, lines, problems))
    given = spec
    spec = _front_end_float(spec)
    by_default = tuple(t.name for t, was in zip(spec.targets, given.targets) if t.keep_float != was.keep_float)
    hashed = [spec.model_dump(mode="json"), labels]
    if facts is not None:  # (what the model's metadata gave: a recipe without such a source hashes as before)
        hashed.append(preprocess.model_dump(mode="json"))
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
    return Recipe(file=shown, root=root, name=name, spec=spec, labels=tuple(labels), hash=digest,
                  preprocess=preprocess, preprocess_note=note, source_facts=facts,
                  front_end_by_default=by_default)


def _front_end_float(spec: RecipeSpec) -> RecipeSpec:
    """A sound recipe's int8 targets keep the model's front end (waveform to spectrogram) in float unless they
    say otherwise: quantized, the spectrogram's range fell apart (4 sound classes: accuracy 0.92 in float, 0.25
    fully int8, 0.92 with the front end float). A model with no spectrogram (a learned filter bank, say) is then
    quantized whole (steps/mixed.py)."""
    from .schema import SOUND_SOURCES

    if spec.dataset.source not in SOUND_SOURCES:
        return spec
    targets = [t.model_copy(update={"keep_float": "front_end"})
               if t.quantization == Quantization.int8 and t.keep_float is None else t for t in spec.targets]
    return spec.model_copy(update={"targets": targets})


def _app_name_problems(spec, name: str) -> list:
    """The bundles' Swift module and Kotlin package, given or made from the recipe name (bundle/ios.py,
    bundle/android.py), checked against the names the app code cannot take."""
    from .app_names import android_package_problem, camel, ios_module_problem, python_package_problem

    problems = []
    ios, android = spec.bundles.ios, spec.bundles.android
    if ios.enabled and re.match(NAME_PATTERN, name):
        module = ios.module or camel(name)
        problem = ios_module_problem(module, ios.module is None)
        if problem:
            problems.append(((("bundles", "ios", "module") if ios.module else ("name",)), problem))
    if android.enabled and re.match(NAME_PATTERN, name):
        package = android.package or "com.example." + name.replace("-", "_")
        problem = android_package_problem(package, android.package is None)
        if problem:
            problems.append(((("bundles", "android", "package") if android.package else ("name",)), problem))
    linux = spec.bundles.linux
    if linux.enabled and linux.package is not None:  # (a default is made importable: app_names.default_python_package)
        problem = python_package_problem(linux.package)
        if problem:
            problems.append((("bundles", "linux", "package"), problem))
    return problems


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


