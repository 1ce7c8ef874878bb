"""The machinery that publishes the book: full and smoke runs of the notebooks, their
provenance records, and the speed benchmark.

    python -m publish full chapters/02_fashion_mnist_dense_to_convnet.ipynb
    python -m publish full chapters/07_transfer_learning.ipynb --set FROZEN_EPOCHS=10
    python -m publish smoke all
    python -m publish full all   # every chapter, in chapters/chapter_inputs.yml's order
    python -m publish check
    python -m publish normalise [--check]
    python -m publish bench

The Makefile's `full`, `smoke`, `check`, `normalise` and `bench` targets call these
(`make lint` runs the normaliser's check).
"""
