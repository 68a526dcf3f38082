"""Task kinds: recipe checks per task, and each kind's metrics against an independent implementation."""
import pytest

from edgebuild.errors import RecipeError, StepError
from edgebuild.kinds import KINDS
from edgebuild.recipe import load_recipe


@pytest.fixture
def root(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "m.keras").write_bytes(b"not read by validation")
    return tmp_path


def load(root, text, name="r.yaml"):
    path = root / "recipes" / name
    path.write_text(text)
    return load_recipe(path, root)


def problems(root, text):
    with pytest.raises(RecipeError) as info:
        load(root, text)
    return info.value.problems


REGRESSION = """\
task: regression
model: {keras: m.keras}
dataset: {source: sklearn_diabetes}
targets:
  - {name: fp32, quantization: float32}
"""


def test_a_regression_recipe_needs_no_labels(root):
    recipe = load(root, REGRESSION + "thresholds: {max_mae: 60, max_mae_increase: 1}\n")
    assert recipe.kind.name == "regression" and recipe.labels == ()
    assert recipe.thresholds_for(recipe.target("fp32")) == {"max_mae": 60, "max_mae_increase": 1}


def test_a_threshold_of_another_task_is_one_line_naming_field_and_task(root):
    assert problems(root, REGRESSION + "thresholds: {min_accuracy: 0.9}\n") == [
        "recipes/r.yaml:6: thresholds.min_accuracy: a classification threshold; this recipe's task is regression, "
        "whose thresholds are max_mae, max_rmse, max_mae_increase (and max_size_kb, max_latency_ms)"]
    text = REGRESSION.replace("float32}", "float32, thresholds: {min_miou: 0.5}}")
    assert problems(root, text) == [
        "recipes/r.yaml:5: targets[0].thresholds.min_miou: a segmentation threshold; this recipe's task is "
        "regression, whose thresholds are max_mae, max_rmse, max_mae_increase (and max_size_kb, max_latency_ms)"]


def test_labels_are_required_where_the_task_names_classes(root):
    text = "model: {keras: m.keras}\ndataset: {source: sklearn_iris}\ntargets: [{name: a, quantization: float32}]\n"
    assert problems(root, text) == [
        "recipes/r.yaml:1: labels: required for task classification; expected the class names in output order: "
        "a list, or a file with one label per line"]


def test_mask_folder_is_for_segmentation_and_diabetes_for_regression(root):
    (root / "shapes" / "images").mkdir(parents=True)
    (root / "shapes" / "masks").mkdir()
    text = ("model: {keras: m.keras}\ndataset: {source: mask_folder, path: shapes}\nlabels: [a, b]\n"
            "targets: [{name: a, quantization: float32}]\n")
    assert problems(root, text) == [
        "recipes/r.yaml:2: dataset.source: mask_folder holds segmentation masks; expected task: segmentation "
        "(this recipe's task is classification)"]
    assert load(root, "task: segmentation\n" + text).kind.name == "segmentation"
    text = "model: {keras: m.keras}\ndataset: {source: sklearn_diabetes}\nlabels: [a]\ntargets: [{name: a, quantization: float32}]\n"
    assert problems(root, text) == [
        "recipes/r.yaml:2: dataset.source: sklearn_diabetes's y is a disease progression score to predict; "
        "expected task: regression (this recipe's task is classification)"]


def test_float_y_on_a_classification_recipe_says_what_to_do(root):
    import numpy as np

    recipe = load(root, "model: {keras: m.keras}\ndataset: {source: sklearn_iris}\nlabels: [a, b, c]\n"
                        "targets: [{name: a, quantization: float32}]\n")
    with pytest.raises(StepError) as info:
        recipe.kind.prepare_y(recipe, np.array([0.0, 1.5, 2.0]), "test")
    assert str(info.value) == (
        "recipes/r.yaml: r: dataset: the test data's y holds values that are not class indices (such as 1.5); a "
        "classification recipe expects integers 0..2; for values to predict, set task: regression")
    assert recipe.kind.prepare_y(recipe, np.array([0.0, 1.0, 2.0]), "test").dtype == np.int64
    with pytest.raises(StepError) as info:  # the issue's case: diabetes' whole-number scores as floats
        recipe.kind.prepare_y(recipe, np.array([25.0, 296.0]), "test")
    assert str(info.value) == ("recipes/r.yaml: r: labels: the test data has class 296 but the recipe names 3 labels; "
                               "if y holds values to predict, set task: regression")
    with pytest.raises(StepError) as info:
        recipe.kind.prepare_y(recipe, np.array([0, 3]), "test")
    assert str(info.value) == "recipes/r.yaml: r: labels: the test data has class 3 but the recipe names 3 labels"


def test_regression_metrics_match_scikit_learn():
    import numpy as np
    from sklearn.metrics import max_error, mean_absolute_error, mean_squared_error

    rng = np.random.default_rng(3)
    y = rng.normal(size=(50, 2)).astype(np.float32)
    predicted = y + rng.normal(scale=0.3, size=y.shape).astype(np.float32)

    class Recipe:
        labels = ("a", "b")
    metrics = KINDS["regression"].measure(Recipe, predicted, y)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, predicted), rel=1e-6)
    assert metrics["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, predicted)), rel=1e-6)
    assert metrics["max_abs_error"] == pytest.approx(max(max_error(y[:, i], predicted[:, i]) for i in range(2)), rel=1e-6)
    assert metrics["mae_per_output"]["b"] == pytest.approx(mean_absolute_error(y[:, 1], predicted[:, 1]), rel=1e-6)


def test_segmentation_iou_matches_scikit_learn_over_pixels_that_are_not_ignored():
    import numpy as np
    from sklearn.metrics import accuracy_score, jaccard_score

    rng = np.random.default_rng(5)
    masks = rng.integers(0, 3, size=(4, 8, 8)).astype(np.uint8)
    masks[0, :2] = 255  # ignored
    scores = rng.random(size=(4, 8, 8, 3)).astype(np.float32)

    class Recipe:
        labels = ("bg", "disc", "never")
    masks[masks == 2] = 1  # class "never" is neither true nor...
    scores[..., 2] = -1  # ...predicted: its IoU is undefined and left out of the mean
    metrics = KINDS["segmentation"].measure(Recipe, scores, masks)
    valid = masks != 255
    true, predicted = masks[valid], scores.argmax(-1)[valid]
    assert metrics["iou_per_class"]["never"] is None
    assert metrics["iou_per_class"]["disc"] == pytest.approx(jaccard_score(true, predicted, labels=[1], average=None)[0])
    assert metrics["miou"] == pytest.approx(jaccard_score(true, predicted, labels=[0, 1], average="macro"))
    assert metrics["pixel_accuracy"] == pytest.approx(accuracy_score(true, predicted))


def test_segmentation_masks_are_compared_at_the_output_resolution():
    import numpy as np

    from edgebuild.kinds.segmentation import resize_nearest

    masks = np.kron(np.array([[[0, 1], [1, 0]]], np.uint8), np.ones((4, 4), np.uint8))  # 8x8, 4x4 blocks
    assert resize_nearest(masks, (2, 2)).tolist() == [[[0, 1], [1, 0]]]
    scores = np.zeros((1, 2, 2, 2), np.float32)
    scores[0, 0, 1, 1] = scores[0, 1, 0, 1] = scores[0, 0, 0, 0] = scores[0, 1, 1, 0] = 1

    class Recipe:
        labels = ("a", "b")
    assert KINDS["segmentation"].measure(Recipe, scores, masks)["miou"] == 1.0
