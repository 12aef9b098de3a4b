# IPython start-up file for `make test-colab` (copied into a throw-away IPYTHONDIR): import the
# stand-in google.colab when the kernel starts, as Colab's runtime does, so that the chapters'
# first cell takes its Colab branch.
import google.colab  # noqa: F401
