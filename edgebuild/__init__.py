"""edgebuild: declarative, incremental builds of TFLite models, measured and gated.

The public API lives in `edgebuild.api` (validate, plan, build, status, init); importing
this package stays cheap so the CLI's --help and recipe validation never load TensorFlow.
"""
__version__ = "0.1.0"
