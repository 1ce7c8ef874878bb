"""Chapter 2's Fashion-MNIST convnet, the cost of a model and its receptive field.

The convnet is here for the chapters that build on it.
"""

from __future__ import annotations

from pathlib import Path


def build_fashion_convnet():
    """Return chapter 2's convnet (333,526 parameters), not yet compiled.

    Chapter 2 builds the same layers step by step; chapter 3 uses this when
    chapter 2's checkpoint is not there.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dropout(0.4),
            keras.layers.Dense(
                10, activation="softmax", dtype="float32"
            ),  # float32 under mixed precision too
        ],
        name="fashion_convnet",
    )


def train_fashion_convnet(
    save_path: str | Path,
    epochs: int = 20,
    train_size: int | None = None,
    seed: int = 42,
    steps_per_execution: int = 32,
):
    """Train chapter 2's convnet as chapter 2 does.

    Return the model (with its best epoch's weights) and its number of training
    images.

    Adam, batch 32, early stopping with patience 2 on the validation loss, 20%
    of the training images held out with ``random_state=42``; the best epoch is
    also saved to ``save_path``. The dtype policy in force is used. Used by
    chapter 3 (when chapter 2's checkpoint is missing) and the speed page.
    """
    import keras
    import numpy as np
    from sklearn.model_selection import train_test_split

    from helpers.data import load_fashion_mnist

    keras.utils.set_random_seed(seed)
    (images, labels), _ = load_fashion_mnist()
    images = (images[:train_size] / 255.0).astype("float32")[..., np.newaxis]
    labels = labels[:train_size]
    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=0.2, random_state=42
    )
    model = build_fashion_convnet()
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[
            keras.callbacks.ModelCheckpoint(save_path, save_best_only=True),
            keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
        ],
    )
    return model, len(x_train)


def load_or_train_fashion_convnet(
    checkpoint: str | Path,
    fallback_path: str | Path,
    epochs: int = 20,
    train_size: int | None = None,
    seed: int = 42,
):
    """Return chapter 2's trained convnet and where it came from.

    Loads ``checkpoint`` when that file exists; otherwise trains the model with
    `train_fashion_convnet` and saves the best epoch to ``fallback_path``.
    Returns ``(model, message)``. Used by chapter 3.
    """
    import keras

    checkpoint = Path(checkpoint)
    if checkpoint.is_file():
        return keras.models.load_model(
            checkpoint
        ), f"loaded chapter 2's model from {checkpoint.name}"
    model, training_images = train_fashion_convnet(
        fallback_path, epochs, train_size, seed
    )
    return (
        model,
        f"no checkpoint at {checkpoint}: "
        f"trained the model here on {training_images:,} images",
    )


def multiply_adds_per_image(model) -> int:
    """Return the multiply-adds one image costs in the model.

    Only the convolutions and dense layers count.

    Each output position of a ``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D``
    or ``Dense`` layer multiplies its inputs by every weight of the kernel once,
    so a layer costs (output positions) x (kernel size). Biases, batch
    normalisation, activations and pooling are left out: they add little.
    Nested models are counted layer by layer. Used by chapters 6 and 7.
    """
    import math

    from keras import layers

    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a model inside the model
            total += multiply_adds_per_image(layer)
            continue
        if isinstance(layer, layers.SeparableConv2D):
            kernel_size = math.prod(layer.depthwise_kernel.shape) + math.prod(
                layer.pointwise_kernel.shape
            )
        elif isinstance(layer, layers.DepthwiseConv2D):
            kernel_size = math.prod(layer.kernel.shape)
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            kernel_size = math.prod(layer.kernel.shape)
        else:
            continue
        total += math.prod(layer.output.shape[1:-1]) * kernel_size
    return total


def receptive_field(model) -> int:
    """Return the receptive field, in input pixels, of the last convolution's units.

    Chapter 1 derives it, chapter 4 compares its models with it. Each
    ``Conv2D`` or pooling window of size k widens the field by (k - 1) times
    the jump, the product of the strides of the layers before it.
    """
    from keras import layers

    field, jump, last_conv = 1, 1, 1
    for layer in model.layers:
        if isinstance(
            layer, (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D)
        ):
            size = getattr(layer, "kernel_size", None) or layer.pool_size
            field += (size[0] - 1) * jump
            jump *= layer.strides[0]
            if isinstance(layer, layers.Conv2D):
                last_conv = field
    return last_conv
