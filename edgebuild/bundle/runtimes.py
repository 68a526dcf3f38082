"""The mobile runtimes the bundles pin: one place, checked against the LiteRT that measured the model.

Android: LiteRT's Maven artifact has the same version as the `ai-edge-litert` Python
package that evaluated the model (tests/func/test_bundle.py checks they agree).
iOS: TensorFlowLiteSwift is the CocoaPods / Swift package the `Interpreter(modelPath:)`
API comes from; its newest release predates LiteRT 2.x, so its version cannot match.
"""
LITERT_ANDROID = "2.3.0"  # com.google.ai.edge.litert:litert (classic org.tensorflow.lite.Interpreter API)
TFLITE_SWIFT = "2.17.0"  # TensorFlowLiteSwift pod
ANDROID_MIN_SDK = 24
