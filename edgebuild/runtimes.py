"""The mobile runtimes the bundles pin by default (a recipe's bundles.<platform>.runtime overrides them): one
place, checked against the LiteRT that measured the model.

Android: LiteRT's Maven artifact has the same version as the `ai-edge-litert` Python
package that evaluated the model (tests/func/test_bundle.py checks they agree).
iOS: TensorFlowLiteSwift is the CocoaPods / Swift package the `Interpreter(modelPath:)`
API comes from; its newest release predates LiteRT 2.x, so its version cannot match.
"""
LITERT_ANDROID = "2.3.0"  # com.google.ai.edge.litert:litert (classic org.tensorflow.lite.Interpreter API)
TFLITE_SWIFT = "2.17.0"  # TensorFlowLiteSwift pod
ANDROID_MIN_SDK = 24

# LiteRT (com.google.ai.edge.litert:litert, and ai-edge-litert on PyPI) -> the TensorFlow Lite runtime level it
# runs (tflite/op_runtimes.py): the newest runtime version in LiteRT's own op-version table at the commit that set
# that release's version (google-ai-edge/LiteRT, litert/version.bzl)
LITERT_LEVELS = {
    "2.3.0": "2.23.0",  # 19a1585ff, 2026-08-14; ai-edge-litert 2.3.0 measured every model here
    "2.1.0": "2.21.0",  # d89bac806, 2025-12-12 (the table's first 2.22.0 entries came on 2026-02-09)
    "2.0.2": "2.21.0",  # d1588b096, 2025-09-11 (its first 2.21.0 entries came on 2025-07-25)
}
