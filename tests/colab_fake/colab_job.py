"""`make test-colab`: run every chapter, unchanged, on Google Colab's package versions.

Steps (each one fails the job loudly):

1. Build a fresh virtual environment (default ``.venv-colab``) with Colab's Python and exactly the
   pins of ``.ci/colab-stack.txt``; check that pip installed them as written and that neither
   ecglib nor wfdb is there (Colab has neither).
2. Snapshot the working tree (tracked and untracked, not ignored) into a throw-away git repository
   and point ``ecglib.book.REPOSITORY_URL`` at it with git's ``url.<base>.insteadOf``, so that the
   chapters' first cell runs its ``pip install --no-deps git+<REPOSITORY_URL>`` as written, offline,
   on the code being tested.
3. Run every chapter (``notebooks/NN_*.ipynb``, whatever exists) with nbval in quick mode, in
   kernels that import a stand-in ``google.colab`` at start-up (``tests/colab_fake``), so their
   first cell takes its Colab branch: install ecglib, then ``colab_setup()`` installs the missing
   requirements under constraints. ``ECGLIB_DATA_DIR`` (the local MIT-BIH copy) makes
   ``colab_setup`` skip the PhysioNet download. The ``colab_nbval_check`` plugin fails any chapter
   whose Colab branch did not print ``ecglib.colab_setup:`` lines.
4. Compare ``pip freeze`` before and after: every pin must be unchanged and nothing removed;
   ecglib must now come from ``git+<REPOSITORY_URL>`` (the cell installed it); ``pip check`` must
   pass.

Runs with any Python 3.9+ (standard library only). Usage::

    python3 tests/colab_fake/colab_job.py --python python3.13 [--venv .venv-colab] [pytest args...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / ".ci" / "colab-stack.txt"
FAKE = Path(__file__).resolve().parent
# pip's global find-links on this kind of machine name folders that may be absent: pure noise.
NOISE = re.compile(r"^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$")


def say(msg: str) -> None:
    print(f"[test-colab] {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"[test-colab] FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = STACK) -> dict[str, str]:
    """``{canonical name: version}`` of the ``name==version`` lines of the stack file."""
    pins = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=<>!~]+)", line)
        if not m:
            fail(f"{path.name} line {lineno} is not an exact pin 'name==version': {raw!r}")
        pins[canonical(m[1])] = m[2]
    return pins


def repository_url() -> str:
    """``ecglib.book.REPOSITORY_URL``, read from the source (ecglib is not installed yet)."""
    m = re.search(r'^REPOSITORY_URL = "([^"]+)"$', (ROOT / "ecglib" / "book.py").read_text(), re.M)
    if not m:
        fail("REPOSITORY_URL not found in ecglib/book.py")
    return m[1]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, dropping pip's find-links noise from its output; raise on failure."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    out = "\n".join(line for line in proc.stdout.splitlines() if not NOISE.match(line))
    if out.strip():
        print(out, flush=True)
    if proc.returncode:
        fail(f"{' '.join(map(str, cmd))} exited with {proc.returncode}")
    return proc


def freeze(python: Path) -> dict[str, str]:
    """``{canonical name: version or '@ url'}`` from ``pip freeze --all``."""
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], check=True, capture_output=True, text=True)
    got = {}
    for line in out.stdout.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, version = line.split(" @ ", 1)
            version = "@ " + version
        else:
            continue
        got[canonical(name.strip())] = version.strip()
    return got


def snapshot(dest: Path) -> None:
    """The working tree as a one-commit git repository (what `pip install git+...` will clone)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():  # skips files deleted from the tree but still in the index
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-C", str(dest), "-c", "user.name=test-colab", "-c", "user.email=test-colab@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "working tree for make test-colab"]):
        subprocess.run(git + args, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--python", default="python3.13", help="Colab's Python (default python3.13)")
    parser.add_argument("--venv", default=str(ROOT / ".venv-colab"))
    args, pytest_args = parser.parse_known_args()
    start = time.monotonic()

    pins = read_pins()
    url = repository_url()
    venv = Path(args.venv).resolve()
    py = venv / "bin" / "python"

    # 1. Colab's stack, fresh every time (pip's download cache makes this about a minute).
    say(f"creating {venv} with {args.python}, installing {STACK.relative_to(ROOT)}")
    shutil.rmtree(venv, ignore_errors=True)
    run([args.python, "-m", "venv", str(venv)])
    run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(STACK)])
    version = subprocess.run([str(py), "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    before = freeze(py)
    wrong = {n: (v, before.get(n)) for n, v in pins.items() if before.get(n) != v}
    if wrong:
        fail(f"pip did not install the stack as pinned (pin, installed): {wrong}")
    for name in ("ecglib", "wfdb"):
        if name in before:
            fail(f"{name} is in the Colab stack ({before[name]}), so the chapters' Colab install is not tested")
    say(f"Python {version}; {len(before)} packages, the {len(pins)} pins as written "
        f"({time.monotonic() - start:.0f} s)")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="test-colab-") as tmp:
        tmp = Path(tmp)
        # 2. The repository the cell installs from: this working tree, under REPOSITORY_URL's name.
        snapshot(tmp / "repo")
        ipython = tmp / "ipython" / "profile_default" / "startup"
        ipython.mkdir(parents=True)
        shutil.copy(FAKE / "ipython_startup.py", ipython / "00-google-colab.py")

        env = dict(os.environ)
        for key in ("PIP_REQUIRE_VIRTUALENV", "VIRTUAL_ENV", "PYTHONHOME"):
            env.pop(key, None)
        env.update(
            PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=str(FAKE),
            IPYTHONDIR=str(tmp / "ipython"),
            ECGLIB_QUICK="1",
            ECGLIB_CACHE_DIR=str(tmp / "cache"),  # Colab starts with an empty cache
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",  # ipykernel's debugger warns about Python 3.13's frozen modules
            TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"url.{tmp / 'repo'}.insteadOf",
            GIT_CONFIG_VALUE_0=url,
        )
        shared = ROOT.parent / "shared" / "data" / "mitdb"
        if not env.get("ECGLIB_DATA_DIR") and (shared / "100.hea").is_file():
            env["ECGLIB_DATA_DIR"] = str(shared)
        if not env.get("ECGLIB_DATA_DIR"):
            fail("set ECGLIB_DATA_DIR to a local MIT-BIH copy (the job has no PhysioNet access)")

        # 3. Every chapter, in quick mode, through its Colab branch.
        chapters = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if not chapters:
            fail("no chapter found (notebooks/NN_*.ipynb)")
        say(f"running {len(chapters)} chapters under nbval with google.colab imported: {' '.join(chapters)}")
        t0 = time.monotonic()
        cmd = [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "colab_nbval_check",
               "--nbval-lax", "--nbval-current-env", *pytest_args, *chapters]  # fmt: skip
        tests = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        say(f"chapters: pytest exited with {tests} ({time.monotonic() - t0:.0f} s)")

    # 4. What the chapters' install did to the stack.
    after = freeze(py)
    moved = {n: f"{before[n]} -> {after.get(n, 'removed')}" for n in before if after.get(n) != before[n]}
    added = sorted(f"{n}=={after[n]}" if not after[n].startswith("@") else f"{n} {after[n]}" for n in after.keys() - before.keys())
    say(f"installed by the chapters' Colab cell: {', '.join(added) or 'nothing'}")
    problems = []
    if moved:
        problems.append(f"the chapters' Colab install changed Colab's packages: {moved}")
    ecglib = after.get("ecglib", "")
    if not ecglib.startswith(f"@ git+{url}@"):
        problems.append(f"ecglib was not installed by the cell from git+{url} (pip freeze: ecglib {ecglib or 'absent'})")
    if "wfdb" not in after:
        problems.append("wfdb is missing: colab_setup did not install ecglib's missing requirements")
    check = subprocess.run([str(py), "-m", "pip", "check"], capture_output=True, text=True)
    if check.returncode:
        problems.append(f"pip check: {check.stdout.strip()}")
    if tests:
        problems.append(f"the chapters failed under nbval (pytest exit {tests})")
    if problems:
        for p in problems:
            print(f"[test-colab] FAILED: {p}", file=sys.stderr)
        return 1
    say(f"OK: every chapter ran its Colab branch on Python {version} with the {len(pins)} pins of "
        f"{STACK.relative_to(ROOT)} unchanged ({time.monotonic() - start:.0f} s in all)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
