"""The MIT-BIH Arrhythmia Database: where it lives, how to get it, how to read a record.

The database has 48 half-hour two-lead records from 47 subjects (records 201 and 202 come from
the same man), sampled at 360 Hz with 11-bit resolution over a 10 mV range. Each record has a
reference annotation file (``.atr``) with one label per beat plus rhythm and noise annotations.

Where the data is looked for, in order:

1. an explicit ``data_dir`` argument;
2. the ``ECGLIB_DATA_DIR`` environment variable;
3. ``<cache dir>/mitdb`` (see :func:`ecglib._io.cache_dir`), where :func:`download_mitdb` puts it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ecglib._io import cache_dir, sha256_file

#: The 48 records, in PhysioNet's order.
RECORDS: tuple[str, ...] = (
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "112",
    "113", "114", "115", "116", "117", "118", "119", "121", "122", "123", "124", "200",
    "201", "202", "203", "205", "207", "208", "209", "210", "212", "213", "214", "215",
    "217", "219", "220", "221", "222", "223", "228", "230", "231", "232", "233", "234",
)  # fmt: skip

#: Records of patients with pacemakers (AAMI recommends leaving them out).
PACED_RECORDS: tuple[str, ...] = ("102", "104", "107", "217")

#: The database's sampling rate (Hz). The whole pipeline assumes it.
FS: int = 360

#: PhysioNet database slug and version used for downloads.
PHYSIONET_DB = "mitdb"
PHYSIONET_VERSION = "1.0.0"

#: The task's three classes, in the order used for labels 0, 1, 2.
CLASSES: tuple[str, ...] = ("N", "S", "V")
CLASS_NAMES: dict[str, str] = {"N": "Normal", "S": "Supraventricular", "V": "Ventricular"}

#: AAMI EC57 grouping of the MIT-BIH beat symbols. F and Q beats are excluded from the task.
AAMI_MAP: dict[str, str] = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}

#: Every annotation symbol wfdb counts as a beat (19 codes).
BEAT_SYMBOLS: frozenset[str] = frozenset("NLRBAaJSVrFejnE/fQ?")

_ENV_VAR = "ECGLIB_DATA_DIR"


def subject_id(record: str) -> str:
    """Subject of a record: records 201 and 202 come from one subject, named ``"201"``.

    Parameters
    ----------
    record
        Record name, one of :data:`RECORDS` (an int such as ``201`` is accepted too, as its
        ``str``); any other name raises ``ValueError``.

    Returns
    -------
    str
        The subject's name: ``"201"`` for record ``"202"``, else the record name itself.
    """
    record = _check_record_name(record)
    return "201" if record == "202" else record


def _check_record_name(record: str | int) -> str:
    name = str(record)
    if name not in RECORDS:
        raise ValueError(f"unknown MIT-BIH record {record!r}; expected one of the 48 names, e.g. '100' .. '234'")
    return name


def default_download_dir() -> Path:
    """Where :func:`download_mitdb` puts the database when no destination is given."""
    return cache_dir() / "mitdb"


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Locate the MIT-BIH directory (explicit > ``ECGLIB_DATA_DIR`` > cache).

    Parameters
    ----------
    data_dir
        Directory holding the records (``~`` is expanded). None (default): ``$ECGLIB_DATA_DIR`` if
        it is set and non-empty, else :func:`default_download_dir`.

    Returns
    -------
    Path
        The chosen directory (it holds ``100.hea``).

    Raises
    ------
    FileNotFoundError
        If the chosen directory does not exist or holds no ``100.hea``; the message says how to
        download the data or set ``ECGLIB_DATA_DIR``.
    """
    if data_dir is not None:
        path, origin = Path(data_dir).expanduser(), "the data_dir argument"
    elif os.environ.get(_ENV_VAR):
        path, origin = Path(os.environ[_ENV_VAR]).expanduser(), f"${_ENV_VAR}"
    else:
        path, origin = default_download_dir(), "the default download location"
    if not (path / "100.hea").is_file():
        raise FileNotFoundError(
            f"MIT-BIH data not found in {path} (from {origin}). Either set {_ENV_VAR} to a folder holding "
            f"the 48 records (100.hea, 100.dat, 100.atr, ...), or download them from PhysioNet with "
            f"`python -m ecglib download` (or ecglib.data.download_mitdb())."
        )
    return path


# --------------------------------------------------------------------------------------------------
# Download


def _physionet_url(filename: str) -> str:
    from wfdb.io.download import PN_CONTENT_URL

    return f"{PN_CONTENT_URL.rstrip('/')}/{PHYSIONET_DB}/{PHYSIONET_VERSION}/{filename}"


def _fetch_physionet(filename: str, dest: Path) -> None:
    """Download one database file from PhysioNet to ``dest`` through wfdb's HTTP layer."""
    from wfdb.io.download import dl_full_file

    dl_full_file(_physionet_url(filename), str(dest))


def parse_sha256sums(text: str) -> dict[str, str]:
    """Parse PhysioNet's ``SHA256SUMS.txt`` (``<hex digest> <file name>`` per line).

    Parameters
    ----------
    text
        Contents of the file. Blank lines are skipped; a line whose first field is not 64
        characters long, or that lacks a file name, raises ``ValueError`` (the message gives its
        line number). A leading ``*`` (binary-mode marker) on the file name is dropped.

    Returns
    -------
    dict[str, str]
        ``{file name: lower-case hex digest}``.
    """
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ValueError(f"SHA256SUMS.txt line {lineno} is not '<sha256> <file>': {line!r}")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def download_mitdb(
    dest: str | os.PathLike | None = None,
    records: Sequence[str] | None = None,
    *,
    progress: bool = True,
    fetch: Callable[[str, Path], None] | None = None,
) -> Path:
    """Download the MIT-BIH records from PhysioNet and verify them against ``SHA256SUMS.txt``.

    Each file is fetched to a temporary name, its SHA-256 checked, then renamed into place, so an
    interrupted download never leaves a file that looks complete. Files already present with the
    right checksum are skipped.

    Parameters
    ----------
    dest
        Target directory; default :func:`default_download_dir`.
    records
        Record names to fetch; default all 48.
    progress
        Show a tqdm progress bar over files.
    fetch
        ``fetch(filename, path)`` that writes one database file to ``path``. Defaults to PhysioNet
        through wfdb; tests pass a local copier.

    Returns
    -------
    Path
        The directory holding the verified files.

    Raises
    ------
    OSError
        If a downloaded file's checksum does not match PhysioNet's (the file is discarded).
    """
    from tqdm.auto import tqdm

    fetch = fetch or _fetch_physionet
    names = [_check_record_name(r) for r in (records if records is not None else RECORDS)]
    dest = Path(dest).expanduser() if dest is not None else default_download_dir()
    dest.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        sums_tmp = Path(tmp) / "SHA256SUMS.txt"
        fetch("SHA256SUMS.txt", sums_tmp)
        sums = parse_sha256sums(sums_tmp.read_text())
        files = [f"{r}.{ext}" for r in names for ext in ("hea", "dat", "atr")]
        missing = [f for f in files if f not in sums]
        if missing:
            raise OSError(f"PhysioNet's SHA256SUMS.txt lists no checksum for {missing[:5]}")
        for fname in tqdm(files, desc="MIT-BIH download", unit="file", disable=not progress):
            target = dest / fname
            if target.is_file() and sha256_file(target) == sums[fname]:
                continue
            part = Path(tmp) / fname
            fetch(fname, part)
            digest = sha256_file(part)
            if digest != sums[fname]:
                part.unlink()
                raise OSError(
                    f"checksum mismatch for {fname}: got {digest}, PhysioNet lists {sums[fname]}; "
                    "the file was discarded, try the download again"
                )
            os.replace(part, target)
        shutil.copyfile(sums_tmp, dest / ".SHA256SUMS.part")
        os.replace(dest / ".SHA256SUMS.part", dest / "SHA256SUMS.txt")
    return dest


# --------------------------------------------------------------------------------------------------
# Reading records


@dataclass(frozen=True)
class Record:
    """One MIT-BIH record, single lead.

    Attributes
    ----------
    name
        Record name, e.g. ``"100"``.
    signal
        The lead's samples in mV, shape ``(n_samples,)``, float64.
    fs
        Sampling rate in Hz.
    lead
        Lead name (``"MLII"`` except records 102 and 104, which have no MLII lead).
    ann_samples
        Annotation positions in samples (all annotations, beats and others).
    ann_symbols
        Annotation symbols, same length as ``ann_samples``.
    ann_aux
        Auxiliary text of each annotation, same length (``""`` where none). A rhythm change is an
        annotation ``"+"`` whose text names the new rhythm, e.g. ``"(AFL"``.
    """

    name: str
    signal: np.ndarray
    fs: float
    lead: str
    ann_samples: np.ndarray
    ann_symbols: np.ndarray
    ann_aux: np.ndarray

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return len(self.signal) / self.fs

    def beats(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions (samples) and symbols of the beat annotations only."""
        mask = np.isin(self.ann_symbols, list(BEAT_SYMBOLS))
        return self.ann_samples[mask], self.ann_symbols[mask]

    def rhythms(self, samples: np.ndarray) -> np.ndarray:
        """The annotated rhythm in effect at each position ``samples`` (in samples).

        Rhythm names are those of the MIT-BIH annotations without the parenthesis: ``"N"`` (normal
        sinus rhythm), ``"AFIB"``, ``"AFL"`` (atrial flutter), ``"SVTA"``, ``"VT"``, ``"B"``
        (ventricular bigeminy), ``"IVR"`` (idioventricular rhythm), ... A rhythm holds from its
        annotation up to the next one; positions before a record's first rhythm annotation get ``""``.

        Parameters
        ----------
        samples
            1-D integer array of positions in samples (e.g. R-peaks).

        Returns
        -------
        numpy.ndarray
            ``(len(samples),)`` str array of rhythm names.

        Raises
        ------
        ValueError
            If ``samples`` is not a 1-D integer array.
        """
        samples = np.asarray(samples)
        if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.integer):
            raise ValueError(
                f"samples must be a 1-D array of sample positions (integers), got {samples.dtype} {samples.shape}"
            )
        mask = (self.ann_symbols == "+") & np.char.startswith(self.ann_aux, "(")
        starts, names = self.ann_samples[mask], np.char.lstrip(self.ann_aux[mask], "(")
        i = np.searchsorted(starts, samples, side="right") - 1
        return np.where(i >= 0, names[np.maximum(i, 0)] if len(names) else "", "")


def _expected_dat_bytes(header) -> int | None:
    """Bytes a complete ``.dat`` file must hold, for the formats MIT-BIH uses (212 and 16)."""
    fmts = set(header.fmt or [])
    n_sig, sig_len = header.n_sig, header.sig_len
    if fmts == {"212"}:
        return int(np.ceil(sig_len * n_sig * 1.5))
    if fmts == {"16"}:
        return sig_len * n_sig * 2
    return None


def load_record(
    name: str | int,
    data_dir: str | os.PathLike | None = None,
    *,
    lead: str = "MLII",
    resample: bool = False,
) -> Record:
    """Read one record: a single lead in mV and its reference annotations.

    Parameters
    ----------
    name
        Record name, e.g. ``"100"``.
    data_dir
        Database directory; see :func:`find_data_dir`.
    lead
        Lead to read, by its name in the header (``"MLII"``, ``"V1"``, ``"V2"``, ``"V4"``,
        ``"V5"``). Records 102 and 104 have no MLII lead: for the default ``"MLII"`` their first
        lead (V5) is used. Any other lead a record lacks raises ``ValueError``; most records'
        second lead is V1, but not all (100, 114 and 123 have V5; 103 and 117 V2; 124 V4; 102 and
        104 V5 and V2).
    resample
        The pipeline assumes 360 Hz. A record at another rate raises ``ValueError`` unless
        ``resample=True``, which resamples the signal (polyphase) and the annotation positions.

    Raises
    ------
    ValueError
        Unknown record name, a ``lead`` the record does not have (other than ``"MLII"``), a
        sampling rate other than 360 Hz (without ``resample``), or a truncated/corrupt ``.dat``
        or ``.atr`` file (the message names the file).
    FileNotFoundError
        If the data directory or one of the record's files is missing.
    """

    name = _check_record_name(name)
    root = find_data_dir(data_dir)
    base = root / name
    for ext in ("hea", "dat", "atr"):
        if not base.with_suffix(f".{ext}").is_file():
            raise FileNotFoundError(f"record {name}: file {base.with_suffix(f'.{ext}')} is missing")

    with warnings.catch_warnings():
        # wfdb 4.3 calls a pandas API that pandas 3 deprecates; the warning is wfdb's, not the user's.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        return _read_record(name, base, lead, resample)


def lead_channel(sig_names: Sequence[str] | None, lead: str = "MLII", record: str = "") -> int:
    """Index of ``lead`` among a WFDB header's signal names.

    Parameters
    ----------
    sig_names
        The header's ``sig_name`` (None is read as no names).
    lead
        Lead to find; default ``"MLII"``, the pipeline's lead.
    record
        Record name, for the error message.

    Returns
    -------
    int
        The channel of ``lead``; for ``"MLII"`` in a record without it (MIT-BIH 102 and 104, or
        another database's recording), 0, the first lead.

    Raises
    ------
    ValueError
        If a lead other than ``"MLII"`` is not among ``sig_names``.
    """
    names = list(sig_names or [])
    if lead in names:
        return names.index(lead)
    if lead == "MLII":  # the pipeline's one lead falls back to the first
        return 0
    raise ValueError(f"record {record} has no lead {lead!r}; its leads are {names}")


def _read_record(name: str, base: Path, lead: str, resample: bool) -> Record:
    import wfdb

    try:
        header = wfdb.rdheader(str(base))
    except Exception as exc:  # wfdb raises a variety of parse errors
        raise ValueError(f"record {name}: header {base}.hea cannot be parsed: {exc}") from exc
    dat = base.with_suffix(".dat")
    expected = _expected_dat_bytes(header)
    if expected is not None and dat.stat().st_size < expected:
        raise ValueError(
            f"record {name}: signal file {dat} is truncated ({dat.stat().st_size} bytes, "
            f"the header needs {expected}); re-download it"
        )
    channel = lead_channel(header.sig_name, lead, name)
    try:
        rec = wfdb.rdrecord(str(base), channels=[channel])
    except Exception as exc:
        raise ValueError(f"record {name}: signal file {dat} cannot be read: {exc}") from exc
    signal = rec.p_signal[:, 0].astype(np.float64)

    atr = base.with_suffix(".atr")
    try:
        ann = wfdb.rdann(str(base), "atr")
        samples = np.asarray(ann.sample, dtype=np.int64)
        symbols = np.asarray(ann.symbol, dtype="<U1")
        aux = np.asarray([(a or "").rstrip("\x00").strip() for a in ann.aux_note], dtype=str)
    except Exception as exc:
        raise ValueError(f"record {name}: annotation file {atr} is corrupt or truncated: {exc}") from exc
    if len(samples) == 0 or np.any(np.diff(samples) < 0) or samples[0] < 0 or samples[-1] >= len(signal):
        raise ValueError(
            f"record {name}: annotation file {atr} is corrupt: positions are not increasing within "
            f"0..{len(signal) - 1} samples"
        )
    if not np.all(np.isfinite(signal)):
        raise ValueError(f"record {name}: signal file {dat} holds invalid (NaN) samples")

    fs = float(header.fs)
    if fs != FS:
        if not resample:
            raise ValueError(
                f"record {name}: sampling rate is {fs:g} Hz but the pipeline assumes {FS} Hz; "
                "pass resample=True to resample it"
            )
        signal, samples = resample_to(signal, samples, fs, FS)
        fs = float(FS)
    return Record(name, signal, fs, header.sig_name[channel], samples, symbols, aux)


def resample_to(
    signal: np.ndarray, samples: np.ndarray, fs_in: float, fs_out: float = FS
) -> tuple[np.ndarray, np.ndarray]:
    """Resample ``signal`` from ``fs_in`` to ``fs_out`` Hz (polyphase) and rescale sample positions.

    Parameters
    ----------
    signal
        ``(n_samples,)`` signal sampled at ``fs_in`` (any unit; MIT-BIH records are in mV),
        resampled with ``scipy.signal.resample_poly`` (along axis 0).
    samples
        Positions in samples at ``fs_in`` (e.g. annotation positions), any shape.
    fs_in
        Sampling rate of ``signal`` in Hz; must be positive (else ``ValueError``).
    fs_out
        Target sampling rate in Hz, positive; default :data:`FS` (360 Hz). The up/down factors are
        ``fs_out / fs_in`` as a fraction with a denominator of at most 1000.

    Returns
    -------
    signal, samples
        The resampled signal (float, ``ceil(n_samples * up / down)`` samples, same unit), and the
        positions ``round(samples * fs_out / fs_in)`` as int64, clipped to ``0..len(signal) - 1``.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive, got fs_in={fs_in}, fs_out={fs_out}")
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    out = resample_poly(signal, ratio.numerator, ratio.denominator)
    pos = np.round(np.asarray(samples) * fs_out / fs_in).astype(np.int64)
    return out, np.clip(pos, 0, len(out) - 1)


def class_summary(records: Iterable[str] = RECORDS, data_dir: str | os.PathLike | None = None) -> dict:
    """Count annotations per record: AAMI classes N, S, V (the task), F and Q (excluded), and non-beats.

    Parameters
    ----------
    records
        Record names to count (each one of :data:`RECORDS`, read with :func:`load_record`); default
        all 48, paced records included.
    data_dir
        Database directory; see :func:`find_data_dir`.

    Returns
    -------
    dict
        ``{record: {"N": n, "S": n, "V": n, "F": n, "Q": n, "non-beat": n}}`` plus a ``"total"`` row.
    """
    keys = ("N", "S", "V", "F", "Q", "non-beat")
    table: dict[str, dict[str, int]] = {}
    total: Counter = Counter()
    for r in records:
        rec = load_record(r, data_dir)
        counts = Counter(AAMI_MAP.get(s, "Q" if s in BEAT_SYMBOLS else "non-beat") for s in rec.ann_symbols)
        table[rec.name] = {k: int(counts.get(k, 0)) for k in keys}
        total.update(counts)
    table["total"] = {k: int(total.get(k, 0)) for k in keys}
    return table
