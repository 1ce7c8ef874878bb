"""The machinery that publishes the book: the website in two languages, full and
smoke runs of the notebooks, their provenance records, the speed benchmark, the
Korean edition's catalogs and the site's Korean web font.

    python -m publish book       # both editions into _build/html (Korean in ko/)

    python -m publish full chapters/02_fashion_mnist_dense_to_convnet.ipynb
    python -m publish full chapters/07_transfer_learning.ipynb --set FROZEN_EPOCHS=10
    python -m publish smoke all
    python -m publish full all   # every chapter, in chapters/chapter_inputs.yml's order
    python -m publish check
    python -m publish normalise [--check]
    python -m publish bench
    python -m publish font       # after adding Korean text (needs fonts-nanum)
    python -m publish lab [ko]   # the chapters for reading in JupyterLab
    python -m publish translations  # the catalogs in locales/ko after English changes
    python -m publish korean     # the Korean edition's source tree (make book does it)

The Makefile's `book`, `full`, `smoke`, `check`, `normalise`, `bench`, `font`,
`lab` and `translations` targets call these (`make lint` runs the normaliser's check).
"""
