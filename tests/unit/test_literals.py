"""Language literals for labels and names: exact escapes for Kotlin, Swift and comments."""
from edgebuild.bundle.literals import comment_text, float_literal, kotlin_string, swift_string
from edgebuild.recipe.app_names import camel

NASTY = 'q"b\\s$d${e}\n\t日😀\x01'


def test_kotlin_string():
    assert kotlin_string(NASTY) == '"q\\"b\\\\s\\$d\\${e}\\n\\t\\u65e5\\ud83d\\ude00\\u0001"'


def test_swift_string():
    assert swift_string(NASTY) == '"q\\"b\\\\s$d${e}\\n\\t\\u{65e5}\\u{1f600}\\u{1}"'


def test_comment_text_cannot_end_a_comment():
    assert comment_text("a */ b /* c\nd") == "a * / b / * c d"


def test_names_and_floats():
    assert camel("digits-dense") == "DigitsDense" and camel("3d-points") == "Model3dPoints"
    assert float_literal(0.0625) == "0.0625" and float_literal(1 / 255) == "0.003921568859368563"


def test_a_single_sigmoid_unit_is_two_classes():
    import numpy as np

    from edgebuild.kinds.classification import class_scores, predicted_classes

    outputs = np.array([[0.2], [0.7], [0.5]], np.float32)
    assert predicted_classes(outputs).tolist() == [0, 1, 0]
    np.testing.assert_array_equal(class_scores([0.7], 2), np.array([0.3, 0.7], np.float32))
    assert predicted_classes(np.array([[0.1, 0.9, 0.0]])).tolist() == [1]
