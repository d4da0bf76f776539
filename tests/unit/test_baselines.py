"""The nearest-neighbour reference: exact 1-NN on the lab's own split."""

import doctest

import numpy as np

from labcore import baselines, data


def test_it_answers_with_the_label_of_the_closest_training_image():
    splits = data.load("fashion_mnist_small", subset=300, val_fraction=0.2, seed=3, test_subset=50)
    train = splits.x_train.reshape(len(splits.x_train), -1).astype(np.float64)
    val = splits.x_val.reshape(len(splits.x_val), -1).astype(np.float64)
    distances = ((val[:, None, :] - train[None, :, :]) ** 2).sum(axis=-1)  # brute force
    expected = float(np.mean(splits.y_train[distances.argmin(axis=1)] == splits.y_val))
    result = baselines.nearest_neighbour_accuracy("fashion_mnist_small", subset=300, val_fraction=0.2, seed=3,
                                                  test_subset=50)
    assert result["val_accuracy"] == expected and result["n_train"] == 240
    assert baselines.nearest_neighbour_accuracy("fashion_mnist_small", subset=300, val_fraction=0.0,
                                                test_subset=50)["val_accuracy"] is None
    assert doctest.testmod(baselines).failed == 0
