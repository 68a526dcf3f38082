#!/bin/sh
# Regenerate metadata_schema_generated.py from metadata_schema.fbs (run from this folder).
#
# metadata_schema.fbs is TFLite Support's public metadata schema, copied unchanged from
# github.com/tensorflow/tflite-support, tensorflow_lite_support/metadata/metadata_schema.fbs
# at commit dd3362ea685bb7ab1f7268c81ec567d3b720ae57 (schema version 1.5.0).
# The generator is Debian's flatbuffers-compiler (flatc 2.0.8): apt-get install flatbuffers-compiler.
# The generated code runs on PyPI's `flatbuffers` package.
set -e
out=$(mktemp -d)
flatc --python --gen-object-api --gen-onefile -o "$out" metadata_schema.fbs
mv "$out/metadata_schema_generated.py" metadata_schema_generated.py
rm -r "$out"
