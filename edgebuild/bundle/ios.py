"""The iOS bundle: a Swift wrapper over TensorFlowLiteSwift's Interpreter, an XCTest, a Podfile snippet.

TensorFlowLiteSwift ships through CocoaPods only, so there is no Package.swift: resources are
looked up in the bundle of the class that uses them, as in an app or test target.
"""
from __future__ import annotations

from ..recipe import Recipe
from .literals import camel

PLATFORM = "ios"

TEMPLATES = {
    "Classifier.swift.j2": "Sources/{module}/{name}Classifier.swift",
    "Processing.swift.j2": "Sources/{module}/{name}Processing.swift",
    "GoldenTests.swift.j2": "Tests/{module}Tests/{name}GoldenTests.swift",
    "Podfile.j2": "Podfile.snippet",
    "README.md.j2": "README.md",
}
MODEL_PATH = "Sources/{module}/Resources/{model_file}"
LABELS_PATH = "Sources/{module}/Resources/{recipe}-labels.txt"
METADATA_PATH = "Sources/{module}/Resources/{recipe}-metadata.json"
GOLDEN_PATH = "Tests/{module}Tests/Resources/{recipe}-golden.json"


def settings(recipe: Recipe) -> dict:
    return {"module": recipe.spec.bundles.ios.module or camel(recipe.name)}


def enabled(recipe: Recipe) -> bool:
    return recipe.spec.bundles.ios.enabled
