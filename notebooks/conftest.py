"""pytest settings for running the chapters as tests (``pytest --nbval-lax notebooks/...``).

The kernels nbval starts inherit this process's environment, so the data directory is set here the
same way as for the unit tests: when ``ECGLIB_DATA_DIR`` is not set, use the team's shared copy
next to the checkout if there is one (otherwise ecglib looks in its download cache).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_shared = ROOT.parent / "shared" / "data" / "mitdb"
if not os.environ.get("ECGLIB_DATA_DIR") and (_shared / "100.hea").is_file():
    os.environ["ECGLIB_DATA_DIR"] = str(_shared)

# Keep TensorFlow's C++ start-up chatter out of the chapters' outputs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
