"""A stand-in for Colab's ``google.colab`` package, for ``make test-colab`` only.

The chapters' first cell (``ecglib.book.colab_cell``) takes its Colab branch when ``google.colab``
is in ``sys.modules``. On Colab the runtime imports it when the kernel starts; in ``make test-colab``
the IPython start-up file ``ipython_startup.py`` beside this folder does, in a kernel whose
``PYTHONPATH`` holds ``tests/colab_fake``.

There is deliberately no ``google/__init__.py``: ``google`` stays a namespace package, so
``google.protobuf`` (which TensorFlow imports) is still found in site-packages.
"""

#: Lets a test tell this stand-in from the real package.
FAKE = True
