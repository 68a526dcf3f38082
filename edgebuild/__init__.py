"""edgebuild: declarative, incremental builds of TFLite models, measured and gated.

    import edgebuild
    edgebuild.validate()                     # recipes/*.yaml -> Recipe objects, or RecipeError
    result = edgebuild.build(jobs=2)         # doit runs what changed; result.failures
    edgebuild.inspect_model("model.tflite")  # ops, tensors, where the bytes go

Names are resolved on first use, so importing edgebuild (and `edgebuild --help`) stays cheap
and never loads TensorFlow.
"""
__version__ = "0.1.0"

_API = {"validate": "api", "plan": "api", "build": "api", "status": "api", "init": "api",
        "inspect_model": "inspect", "EdgebuildError": "errors", "RecipeError": "errors"}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'edgebuild' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
