"""The models that more than one chapter uses, the cost of a model and its
receptive field.

Chapter 2's Fashion-MNIST convnet (chapter 3 and the speed appendix), chapter
5's dogs-vs-cats convnet (chapters 5 and 8) and chapter 7's classifier on
pretrained features (chapters 7 and 8). Each chapter that defines one shows
its code from here.
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
    fit_fashion_convnet(
        model,
        (x_train, y_train),
        (x_val, y_val),
        save_path,
        epochs=epochs,
        steps_per_execution=steps_per_execution,
        verbose=0,
    )
    return model, len(x_train)


def fit_fashion_convnet(
    model,
    train,
    validation,
    save_path: str | Path,
    epochs: int = 20,
    batch_size: int = 32,
    steps_per_execution: int = 32,
    verbose: int = 2,
):
    """Compile and train chapter 2's convnet as chapter 2 does; return the history.

    Adam, sparse categorical cross-entropy and accuracy; ``train`` and
    ``validation`` are (images, labels) pairs. ``ModelCheckpoint`` saves the
    epoch of the lowest validation loss to ``save_path``; ``EarlyStopping``
    stops after 2 epochs without a new low and puts that epoch's weights back.
    ``steps_per_execution`` runs 32 batches per call into TensorFlow's graph
    (same steps, less overhead). Chapter 2 shows this code; chapter 3 and the
    speed appendix train through ``train_fashion_convnet``, which calls it.
    """
    import keras

    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model.fit(
        *train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation,
        verbose=verbose,
        callbacks=[
            keras.callbacks.ModelCheckpoint(save_path, save_best_only=True),
            keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
        ],
    )


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


def dogs_vs_cats_convnet(
    augmentation=None, dropout=None, name="convnet_from_scratch", image_size=(180, 180)
):
    """Return chapter 5's convnet for dogs vs cats (991,041 parameters at 180 x 180).

    Five 3 x 3 convolutions (32, 64, 128, 256, 256 filters) with a 2 x 2 max
    pooling after each of the first four, then ``Flatten`` and one sigmoid unit
    (in float32 under any precision policy): the probability of "dog". A
    ``Rescaling`` layer maps 0-255 pixels to 0-1 inside the model.
    ``augmentation`` (a block such as ``data_augmentation()``) goes in front,
    ``dropout`` before the dense unit; neither adds a parameter. Chapter 5
    defines it (and shows this code); chapter 8 explains its trained copy.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(*image_size, 3))
    x = inputs if augmentation is None else augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    if dropout is not None:
        x = layers.Dropout(dropout)(x)
    # float32 for the output and the loss, whatever the precision policy:
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def features_classifier(input_shape, pooled, name="classifier"):
    """Return the classifier that chapter 7 puts on a pretrained base's features.

    ``pooled``: global average pooling, dropout 0.5 and one sigmoid unit (for
    MobileNet). Otherwise, as published for VGG16: ``Flatten``, ``Dense(256)``
    (with a ReLU, which the published head leaves out), dropout 0.5 and the
    sigmoid unit. The output is float32 under any precision policy. Chapter 7
    defines it (and shows this code); chapter 8 trains it when chapter 7's
    model is missing.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    if pooled:
        x = layers.GlobalAveragePooling2D()(inputs)
    else:
        x = layers.Dense(256, activation="relu")(layers.Flatten()(inputs))
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
