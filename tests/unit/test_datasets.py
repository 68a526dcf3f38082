"""Datasets and preprocessing, checked against TensorFlow's own resize and scikit-learn's data."""
import numpy as np

from edgebuild.recipe.schema import Preprocess
from edgebuild.steps.datasets import apply_preprocess, resize_bilinear, resolve_preprocess, split_train_test


def test_resize_matches_tensorflow():
    import tensorflow as tf

    images = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    ours = resize_bilinear(images, (28, 28))
    theirs = tf.image.resize(images[..., None], (28, 28)).numpy()[..., 0]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    rgb = np.random.default_rng(1).random((2, 10, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(resize_bilinear(rgb, (5, 4)), tf.image.resize(rgb, (5, 4)).numpy(), atol=1e-5)


def test_split_is_seeded_and_disjoint():
    x = np.arange(100, dtype=np.float32)[:, None]
    y = np.arange(100) % 3
    a, b = split_train_test(x, y, 0.2, 7), split_train_test(x, y, 0.2, 7)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert len(a.x_train) == 80 and len(a.x_test) == 20
    assert not set(a.x_train[:, 0]) & set(a.x_test[:, 0])
    assert not np.array_equal(split_train_test(x, y, 0.2, 8).x_test, a.x_test)


def test_normalize_fit_uses_training_statistics():
    x_train = np.array([[1.0, 100.0], [3.0, 300.0]], dtype=np.float32)
    resolved = resolve_preprocess(Preprocess(normalize="fit", scale=0.5), x_train)
    assert resolved["mean"] == [1.0, 100.0] and resolved["std"] == [0.5, 50.0]
    np.testing.assert_allclose(apply_preprocess(x_train, resolved), [[-1, -1], [1, 1]])
    explicit = resolve_preprocess(Preprocess.model_validate({"normalize": {"mean": 1, "std": 2}}), x_train)
    np.testing.assert_allclose(apply_preprocess(x_train, explicit), (x_train - 1) / 2)
