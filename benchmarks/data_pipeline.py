"""Data-pipeline benchmark: R-peak detectors on all 48 records, and the whole database to images.

Prints a Markdown table and writes ``results/data_pipeline.json``.

    python benchmarks/data_pipeline.py            # everything (a few minutes; xqrs is the slow part)
    python benchmarks/data_pipeline.py --no-xqrs  # our detector only

Targets on the 2-core reference machine: our detector Se >= 99.5 % and +P >= 99.5 % pooled over
the 48 records (150 ms tolerance); all 48 records to 128x128 images in <= 60 s with peak memory
<= 6 GB (measured in a fresh child process, with the dataset cache off).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD_SNIPPET = """
import json, time
t0 = time.perf_counter()
from ecglib.dataset import build_dataset
ds = build_dataset(cache=False, progress=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "beats": len(ds), "shape": list(ds.images.shape)}))
"""


def measure_build() -> dict:
    """Build all 48 records at 128x128 in a child process; wall time and the child's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", BUILD_SNIPPET], check=True, capture_output=True, text=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_memory_gb"] = max(peak_kib, before) * 1024 / 1e9  # ru_maxrss is KiB on Linux
    return result


def main(argv: list[str] | None = None) -> int:
    from ecglib.rpeaks import benchmark_detectors

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-xqrs", action="store_true", help="skip wfdb's xqrs (slow)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "data_pipeline.json")
    args = parser.parse_args(argv)

    detectors = ("ours",) if args.no_xqrs else ("ours", "xqrs")
    det = benchmark_detectors(detectors=detectors, progress=True)
    build = measure_build()

    rows = []
    for name in detectors:
        pooled = det[name]["pooled"]
        rows.append((f"R-peak detector: {name}", f"Se {100 * pooled['se']:.2f} %, +P {100 * pooled['ppv']:.2f} %",
                     f"{det[name]['pooled']['seconds']:.3f} s/record"))
    rows.append(("48 records → 128×128 images", f"{build['beats']:,} beats, {build['seconds']:.1f} s",
                 f"peak {build['peak_memory_gb']:.2f} GB"))
    table = "| stage | result | cost |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)

    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "detectors": det,
        "build_dataset": build,
        "targets": {"se": 0.995, "ppv": 0.995, "build_seconds": 60, "build_peak_gb": 6},
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)
    print(table)
    ours = det["ours"]["pooled"]
    met = ours["se"] >= 0.995 and ours["ppv"] >= 0.995 and build["seconds"] <= 60 and build["peak_memory_gb"] <= 6
    print(f"\ntargets met: {met}   (written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
