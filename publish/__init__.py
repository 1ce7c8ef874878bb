"""The machinery that publishes the book: full and smoke runs of the notebooks, their
provenance records, the speed benchmark, and the site's Korean web font.

    python -m publish full chapters/02_fashion_mnist_dense_to_convnet.ipynb
    python -m publish full chapters/07_transfer_learning.ipynb --set FROZEN_EPOCHS=10
    python -m publish smoke all
    python -m publish full all   # every chapter, in chapters/chapter_inputs.yml's order
    python -m publish check
    python -m publish normalise [--check]
    python -m publish bench
    python -m publish font       # after adding Korean text (needs fonts-nanum)
    python -m publish lab        # the chapters for reading in JupyterLab

The Makefile's `full`, `smoke`, `check`, `normalise`, `bench`, `font` and `lab`
targets call these (`make lint` runs the normaliser's check).
"""
