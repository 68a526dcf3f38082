"""Names the generated app code may not take: an iOS module that shadows an Apple framework or a Swift
name, a Kotlin package segment that is a Kotlin or Java keyword, a Python package that is no identifier or that
`import` finds elsewhere first. Each compiles (or imports) nowhere, or worse, means something else (`import
Photos` is Apple's PhotoKit; `python -m json` is the standard library's)."""
from __future__ import annotations

# Apple's frameworks an app imports, the Swift modules every app sees, TensorFlowLiteSwift's own module,
# and the standard types a module of that name would shadow
IOS_TAKEN = frozenset("""
Accelerate ARKit AVFoundation AVKit AppKit AuthenticationServices BackgroundTasks CallKit CarPlay CloudKit
Combine Contacts ContactsUI CoreAudio CoreBluetooth CoreData CoreFoundation CoreGraphics CoreHaptics
CoreImage CoreLocation CoreML CoreMedia CoreMotion CoreNFC CoreServices CoreSpotlight CoreTelephony CoreText
CoreVideo CreateML CryptoKit Darwin Dispatch EventKit EventKitUI Foundation GameController GameKit GameplayKit
GLKit HealthKit HomeKit ImageIO Intents IntentsUI LocalAuthentication MapKit MediaPlayer MessageUI Metal
MetalKit MetalPerformanceShaders MetalPerformanceShadersGraph ModelIO MultipeerConnectivity NaturalLanguage
Network NetworkExtension ObjectiveC OSLog PassKit PencilKit Photos PhotosUI QuartzCore QuickLook RealityKit
ReplayKit SafariServices SceneKit Security SensorKit SoundAnalysis Speech SpriteKit StoreKit Swift SwiftData
SwiftUI System SystemConfiguration TabularData UIKit UniformTypeIdentifiers UserNotifications Vision VisionKit
WatchKit WebKit WidgetKit XCTest TensorFlowLite TensorFlowLiteC
Any Self Type Protocol Array Bool Character Data Date Dictionary Double Error Float Int Never Optional Result
Set String URL Void
""".split())

KOTLIN_KEYWORDS = frozenset("""
as break class continue do else false for fun if in interface is null object package return super this throw
true try typealias typeof val var when while
""".split())
JAVA_KEYWORDS = frozenset("""
abstract assert boolean break byte case catch char class const continue default do double else enum extends
false final finally float for goto if implements import instanceof int interface long native new null package
private protected public return short static strictfp super switch synchronized this throw throws transient
true try void volatile while _
""".split())


def camel(name: str) -> str:
    """`digits-dense` -> `DigitsDense` (a type name in Kotlin and Swift)."""
    text = "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-") if part)
    return text if text[:1].isalpha() else f"Model{text}"


def ios_module_problem(module: str, default: bool) -> str | None:
    if module not in IOS_TAKEN:
        return None
    what = "an Apple framework or Swift name" if module not in ("TensorFlowLite", "TensorFlowLiteC") else \
        "TensorFlowLiteSwift's own module"
    fix = f"set bundles.ios.module to another name, such as {module}Model" if default else \
        f"choose another, such as {module}Model"
    source = f"the recipe name gives the module {module}, which is" if default else f"{module} is"
    return f"{source} {what}: an app importing it would get that instead; {fix}"


def android_package_problem(package: str, default: bool) -> str | None:
    taken = [part for part in package.split(".") if part in KOTLIN_KEYWORDS | JAVA_KEYWORDS]
    if not taken:
        return None
    language = "Kotlin" if taken[0] in KOTLIN_KEYWORDS else "Java"
    source = f"the recipe name gives the package {package}, which" if default else package
    fix = "set bundles.android.package, such as com.example.mymodel" if default else \
        f"rename that part, such as {package.replace(taken[0], taken[0] + 'model', 1)}"
    return f"{source} has '{taken[0]}', a {language} keyword, as a part: it cannot be a package name; {fix}"


# what the Linux package imports besides the standard library, and the name of its tests' folder
PYTHON_TAKEN = frozenset({"numpy", "PIL", "ai_edge_litert", "pytest", "tests", "test"})


def default_python_package(recipe_name: str) -> str:
    """The Linux bundle's import name when the recipe gives none: the recipe name with '-' as '_', made importable
    (`3d-seg` -> `model_3d_seg`, `json` -> `json_model`) rather than refused, since that bundle is on by default."""
    package = recipe_name.replace("-", "_")
    package = "model_" + package if package[:1].isdigit() else package
    return package if python_package_problem(package) is None else package + "_model"


def python_package_problem(package: str) -> str | None:
    """Why `package` cannot be the Linux bundle's import name: not an identifier, a keyword, or a module `import`
    would find first (the standard library's, or one the package imports)."""
    import keyword
    import sys

    if package.isidentifier() and not keyword.iskeyword(package) and package not in sys.stdlib_module_names \
            and package not in PYTHON_TAKEN:
        return None
    why = ("is not a Python identifier" if not package.isidentifier() else
           "is a Python keyword" if keyword.iskeyword(package) else
           "is a module of Python's standard library, which `import` finds first" if package in sys.stdlib_module_names
           else "is a module the package itself imports")
    return f"{package} {why}; choose another, such as {package}_model"
