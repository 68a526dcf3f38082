"""The parts of TensorFlowLiteSwift and TensorFlowLiteC the generated Swift calls, as their real sources
declare them, and a checker that walks the generated Swift (with tree-sitter-swift) against them.

There is no Swift compiler on this machine or in the package registries, so this model stands in for
one. Where each fact comes from (TensorFlowLiteSwift 2.17.0, tensorflow/lite/swift/Sources/ and
tensorflow/lite/core/c/c_api.h in the TensorFlow repository):

- Tensor.swift: `Tensor.DataType` has the cases bool, uInt8, int16, int32, int64, float16, float32,
  float64, and no int8; `init?(type: TfLiteType)` returns nil for any other type.
- Interpreter.swift: `init(modelPath: String, options: Options? = nil, delegates: [Delegate]? = nil) throws`;
  `allocateTensors() throws`; `invoke() throws`; `@discardableResult copy(_ data: Data, toInputAt index: Int)
  throws -> Tensor`, which returns `try input(at:)`; `input(at:)` and `output(at: Int) throws -> Tensor` throw
  `InterpreterError.invalidTensorDataType` when `Tensor.DataType(type:)` is nil; `Options.threadCount: Int?`.
- c_api.h: the functions below, with their parameter counts.
"""
from __future__ import annotations

from dataclasses import dataclass

# numpy dtype name -> TensorFlowLiteSwift's Tensor.DataType case
SWIFT_DATA_TYPES = {"bool": "bool", "uint8": "uInt8", "int16": "int16", "int32": "int32", "int64": "int64",
                    "float16": "float16", "float32": "float32", "float64": "float64"}

# Interpreter members the wrapper may use -> the argument labels they take
INTERPRETER_MEMBERS = {"allocateTensors": (), "invoke": (), "copy": ("_", "toInputAt"), "output": ("at",)}
# members that hand a tensor of the model to Tensor.DataType(type:): the tensor they touch
TENSOR_TOUCHING = {"copy": "input", "output": "output"}
OPTIONS_MEMBERS = {"threadCount"}

# c_api.h: function -> number of parameters
C_API = {
    "TfLiteModelCreateFromFile": 1, "TfLiteModelDelete": 1,
    "TfLiteInterpreterOptionsCreate": 0, "TfLiteInterpreterOptionsDelete": 1,
    "TfLiteInterpreterOptionsSetNumThreads": 2,
    "TfLiteInterpreterCreate": 2, "TfLiteInterpreterDelete": 1, "TfLiteInterpreterAllocateTensors": 1,
    "TfLiteInterpreterGetInputTensor": 2, "TfLiteInterpreterGetOutputTensor": 2, "TfLiteInterpreterInvoke": 1,
    "TfLiteTensorByteSize": 1, "TfLiteTensorCopyFromBuffer": 3, "TfLiteTensorCopyToBuffer": 3,
}


@dataclass
class Call:
    receiver: str | None  # `interpreter` in interpreter.copy(...), None for a free function
    name: str
    labels: tuple[str, ...]


def _parser():
    import tree_sitter
    import tree_sitter_swift

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def calls(source: bytes) -> list[Call]:
    """Every call in a Swift file: receiver, function name and argument labels ("_" for none)."""
    root = _parser().parse(source).root_node
    assert not root.has_error
    found = []
    for node in _walk(root):
        if node.type != "call_expression":
            continue
        callee = node.children[0]
        suffix = next((c for c in node.children if c.type == "call_suffix"), None)
        arguments = next((c for c in suffix.children if c.type == "value_arguments"), None) if suffix else None
        labels = []
        for argument in (arguments.named_children if arguments else []):
            if argument.type != "value_argument":
                continue
            label = argument.child_by_field_name("name")
            labels.append(label.text.decode().rstrip(":") if label is not None else "_")
        if callee.type == "simple_identifier":
            found.append(Call(None, callee.text.decode(), tuple(labels)))
        elif callee.type == "navigation_expression":
            target = callee.children[0].text.decode()
            member = callee.children[-1].text.decode().lstrip(".")
            found.append(Call(target, member, tuple(labels)))
    return found


def imports(source: bytes) -> set[str]:
    root = _parser().parse(source).root_node
    return {node.text.decode().split()[-1] for node in _walk(root) if node.type == "import_declaration"}


def problems(source: bytes, input_dtype: str, output_dtype: str) -> list[str]:
    """What would not compile or would throw on a device, for a model with these tensor dtypes."""
    dtypes = {"input": input_dtype, "output": output_dtype}
    found = calls(source)
    modules = imports(source)
    out = []
    for call in found:
        if call.receiver is None and call.name.startswith("TfLite"):
            if "TensorFlowLiteC" not in modules:
                out.append(f"{call.name}: TensorFlowLiteC is not imported")
            if call.name not in C_API:
                out.append(f"{call.name}: not a function of TensorFlowLiteC's c_api.h")
            elif len(call.labels) != C_API[call.name]:
                out.append(f"{call.name}: takes {C_API[call.name]} arguments, given {len(call.labels)}")
        elif call.receiver == "interpreter":
            if "TensorFlowLite" not in modules:
                out.append(f"interpreter.{call.name}: TensorFlowLite is not imported")
            if call.name not in INTERPRETER_MEMBERS:
                out.append(f"interpreter.{call.name}: not a member of TensorFlowLiteSwift's Interpreter")
                continue
            if call.labels != INTERPRETER_MEMBERS[call.name]:
                out.append(f"interpreter.{call.name}: labels {call.labels}, expected {INTERPRETER_MEMBERS[call.name]}")
            role = TENSOR_TOUCHING.get(call.name)
            if role and dtypes[role] not in SWIFT_DATA_TYPES:
                out.append(f"interpreter.{call.name}: the {role} tensor is {dtypes[role]}, which Tensor.DataType "
                           f"has no case for: it throws invalidTensorDataType")
        elif call.receiver is None and call.name == "Interpreter":
            if call.labels not in (("modelPath",), ("modelPath", "options"), ("modelPath", "options", "delegates")):
                out.append(f"Interpreter({':'.join(call.labels)}:): no such initializer")
        elif call.receiver == "Interpreter" and (call.name, call.labels) != ("Options", ()):
            out.append(f"Interpreter.{call.name}: not used as TensorFlowLiteSwift declares it")
    return out
