"""A simple reference the learner can beat: 1-nearest-neighbour on raw pixels.

"Good" means nothing without a yardstick. Before any network trains, a
classifier that stores the training images and answers with the label of
the closest one (Euclidean distance on raw pixels) sets the bar on exactly
the images a lab step uses: a network that scores below it has learnt less
than memorising the pixels would. NumPy only, so a page computes it.
"""

import numpy as np

from labcore import data

__all__ = ["nearest_neighbour_accuracy"]

# Distances are computed in blocks of this many query images, so a large
# validation set never needs an images x training-images matrix at once.
_BLOCK = 256


def nearest_neighbour_accuracy(dataset, *, subset=None, val_fraction=0.1, seed=0, test_subset=None):
    """1-NN accuracy on the validation and test images of exactly the lab's split.

    Args:
        dataset: str, a key of `labcore.data.DATASETS`.
        subset, val_fraction, seed, test_subset: as `labcore.data.load`; pass
            the lab step's own, so the reference sees the same images.

    Returns:
        dict: "val_accuracy" (None without validation images), "test_accuracy",
        "n_train".

    Example:
    >>> result = nearest_neighbour_accuracy("fashion_mnist_small", subset=600, test_subset=200)
    >>> 0.5 < result["test_accuracy"] < 1.0
    True
    """
    splits = data.load(dataset, subset=subset, val_fraction=val_fraction, seed=seed, test_subset=test_subset)
    train = splits.x_train.reshape(len(splits.x_train), -1)
    squared = np.einsum("ij,ij->i", train, train)

    def accuracy(images, labels):
        if len(images) == 0:
            return None
        queries = images.reshape(len(images), -1)
        predicted = []
        for start in range(0, len(queries), _BLOCK):
            block = queries[start:start + _BLOCK]
            # |q - t|^2 = |q|^2 - 2 q.t + |t|^2; |q|^2 is the same for every t.
            distances = squared[None, :] - 2.0 * block @ train.T
            predicted.append(splits.y_train[np.argmin(distances, axis=1)])
        return float(np.mean(np.concatenate(predicted) == labels))

    return {"val_accuracy": accuracy(splits.x_val, splits.y_val),
            "test_accuracy": accuracy(splits.x_test, splits.y_test), "n_train": int(len(train))}
