"""What the model benchmarks share: timestamped progress lines and writing their JSON + Markdown."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ecglib._io import atomic_path


def log(msg: str) -> None:
    """Print ``msg`` with the wall-clock time, flushed (benchmarks run for many minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def int_list(ap: argparse.ArgumentParser, value: str, flag: str) -> list[int]:
    """The integers of a comma-separated option value; ``ap.error`` (exit 2) names ``flag`` otherwise."""
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        ap.error(f"{flag} must be comma-separated integers, got {value!r}")


def name_list(ap: argparse.ArgumentParser, value: str, allowed, flag: str) -> list[str]:
    """The names of a comma-separated option value; ``ap.error`` (exit 2) unless they are some of ``allowed``."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or set(names) - set(allowed):
        ap.error(f"{flag} must name some of {','.join(allowed)}, got {value!r}")
    return names


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
