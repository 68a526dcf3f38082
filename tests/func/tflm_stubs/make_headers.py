"""Declarations of the TFLM API the micro bundle's C++ calls, to compile it with g++ here (no TFLM tree is on this
machine). The MicroMutableOpResolver methods are those of edgebuild/tflite/tflm_ops.py, read from tflite-micro's
micro_mutable_op_resolver.h, so a method name that header lacks fails to compile; the rest is the few types and
calls of micro_interpreter.h and schema_generated.h the example uses, with the header's signatures."""
from pathlib import Path

from edgebuild.tflite import tflm_ops

COMMON = """#pragma once
#include <cstddef>
#include <cstdint>
typedef enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef union TfLitePtrUnion { int8_t* int8; uint8_t* uint8; float* f; char* raw; const char* raw_const; } TfLitePtrUnion;
typedef struct TfLiteTensor { TfLitePtrUnion data; } TfLiteTensor;
"""
RESOLVER = """#pragma once
#include "tensorflow/lite/c/common.h"
namespace tflite {
class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() = default;
};
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
METHODS
};
}  // namespace tflite
"""
INTERPRETER = """#pragma once
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
namespace tflite {
class MicroInterpreter {
 public:
  MicroInterpreter(const Model* model, const MicroOpResolver& op_resolver, uint8_t* tensor_arena, size_t tensor_arena_size);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t index);
  TfLiteTensor* output(size_t index);
  size_t arena_used_bytes() const;
};
}  // namespace tflite
"""
SCHEMA = """#pragma once
namespace tflite {
struct Model;
inline const Model* GetModel(const void* buf) { return static_cast<const Model*>(buf); }
}  // namespace tflite
"""


def write(root: Path) -> Path:
    methods = "\n".join(f"  TfLiteStatus {name}();" for name in sorted({*tflm_ops.BUILTIN_OPS.values(),
                                                                           *tflm_ops.CUSTOM_OPS.values()}))
    files = {"tensorflow/lite/c/common.h": COMMON,
             "tensorflow/lite/micro/micro_mutable_op_resolver.h": RESOLVER.replace("METHODS", methods),
             "tensorflow/lite/micro/micro_interpreter.h": INTERPRETER,
             "tensorflow/lite/schema/schema_generated.h": SCHEMA}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root
