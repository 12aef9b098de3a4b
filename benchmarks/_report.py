"""What the model benchmarks share: timestamped progress lines and writing their JSON + Markdown."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ecglib._io import atomic_path


def log(msg: str) -> None:
    """Print ``msg`` with the wall-clock time, flushed (benchmarks run for many minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_report(out: str | Path, stem: str, results: dict, md: str) -> None:
    """Write ``out/stem.json`` and ``out/stem.md`` atomically, then print the Markdown."""
    out = Path(out)
    with atomic_path(out / f"{stem}.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(results, indent=1, default=float))
    with atomic_path(out / f"{stem}.md", suffix=".md") as tmp:
        tmp.write_text(md)
    print()
    print(md)
    log(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")
