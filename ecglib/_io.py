"""Small file-system helpers shared by the pipeline stages: cache location and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def cache_dir() -> Path:
    """Per-user cache directory for ecglib.

    ``$ECGLIB_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/ecglib``, else ``~/.cache/ecglib``.
    Never next to the data: the data directory may be read-only (it is in CI).
    """
    env = os.environ.get("ECGLIB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ecglib"


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in ``target``'s directory; rename it onto ``target`` on success.

    A crash or an exception leaves no half-written ``target`` behind, only nothing.
    ``suffix`` keeps the extension some writers insist on (NumPy appends ``.npz``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_npz_atomic(target: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and a JSON ``meta`` dict to ``target`` (uncompressed ``.npz``) atomically."""
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(target, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_npz_atomic`.

    Every member is read in full, so zip's CRC-32 check catches truncated or corrupted files.

    Raises
    ------
    ValueError
        If the file is missing a member, truncated or corrupt.
    """
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cache file {path} is corrupt or truncated: {exc}") from exc
    if "__meta__" not in arrays:
        raise ValueError(f"cache file {path} has no metadata member; it was not written by ecglib")
    meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    return arrays, meta


def params_key(params: dict[str, Any]) -> str:
    """Short stable hash of a JSON-serialisable parameter dict (used in cache file names)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
