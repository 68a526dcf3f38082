"""The iOS bundle: a local CocoaPods pod named after the module, with a Swift wrapper, the model as a
resource and an XCTest as the pod's test spec.

Why a pod: TensorFlowLiteSwift ships through CocoaPods only (no Package.swift), and a pod gives the
wrapper its own module, so `import <Module>` in the test and in the app means what it says, and two
bundles in one app never share a namespace. The app team adds one line to its Podfile.

Why the C API for int8: TensorFlowLiteSwift's `Tensor.DataType` has no int8 case, and its
`Interpreter.copy(_:toInputAt:)` and `output(at:)` throw `invalidTensorDataType` for any type
outside `SWIFT_TENSOR_TYPES`. A model with such an input or output is driven through
TensorFlowLiteC's C API (`TfLiteTensorCopyFromBuffer` / `TfLiteTensorCopyToBuffer`), which
TensorFlowLiteSwift is itself built on and which copies bytes of every type; every other model keeps
the Swift API. Both were read from tensorflow/lite/swift/Sources/{Tensor,Interpreter}.swift and
tensorflow/lite/core/c/c_api.h (TensorFlowLiteSwift 2.17.0).
"""
from __future__ import annotations

from ..recipe import Recipe
from ..recipe.app_names import camel

PLATFORM = "ios"
WHAT = "iOS: a local CocoaPods pod, a Swift wrapper over TensorFlowLiteSwift, an XCTest"

TEMPLATES = {
    "Wrapper.swift.j2": "Sources/{module}/{class_name}.swift",
    "Processing.swift.j2": "Sources/{module}/{name}Processing.swift",
    "GoldenTests.swift.j2": "Tests/{module}Tests/{name}GoldenTests.swift",
    "Podfile.j2": "Podfile.snippet",
    "podspec.j2": "{module}.podspec",
    "README.md.j2": "README.md",
}
MODEL_PATH = "Sources/{module}/Resources/{model_file}"
LABELS_PATH = "Sources/{module}/Resources/{recipe}-labels.txt"
METADATA_PATH = "Sources/{module}/Resources/{recipe}-metadata.json"
GOLDEN_PATH = "Tests/{module}Tests/Resources/{recipe}-golden.json"


# TensorFlowLiteSwift's Tensor.DataType cases, as NumPy names: bool, uInt8, int16, int32, int64,
# float16, float32, float64 (Tensor.swift). No int8.
SWIFT_TENSOR_TYPES = ("bool", "uint8", "int16", "int32", "int64", "float16", "float32", "float64")


def model_values(ctx: dict) -> dict:
    """What the templates need to know about the model's tensors: which API can drive them."""
    unsupported = [role for role in ("input", "output") if ctx[role]["dtype"] not in SWIFT_TENSOR_TYPES]
    return {"c_api": bool(unsupported), "c_api_tensors": unsupported}


def settings(recipe: Recipe) -> dict:
    return {"module": recipe.spec.bundles.ios.module or camel(recipe.name)}


def enabled(recipe: Recipe) -> bool:
    return recipe.spec.bundles.ios.enabled
