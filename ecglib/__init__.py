"""ecglib: MIT-BIH → filtered signal → R-peaks → beats → STFT images → CNN → evaluation → Grad-CAM.

One module per pipeline stage: :mod:`ecglib.data`, :mod:`ecglib.preprocess`, :mod:`ecglib.rpeaks`,
:mod:`ecglib.beats`, :mod:`ecglib.spectrogram`, :mod:`ecglib.splits`, :mod:`ecglib.dataset`, and for the
model half :mod:`ecglib.models`, :mod:`ecglib.train`, :mod:`ecglib.evaluate`, :mod:`ecglib.gradcam`,
:mod:`ecglib.inference`. TensorFlow is imported only by the model modules.
"""

__version__ = "0.1.0"
