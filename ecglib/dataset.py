"""Build the model-ready dataset: images, RR features, labels, record ids and peak positions.

Work is done record by record and cached on disk, one ``.npz`` per record, keyed by a hash of every
parameter that shapes the result (beat and spectrogram configs, cache format). Writes are atomic;
a cache file that fails its CRC check or has unexpected contents is rebuilt.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ecglib._io import cache_dir, load_npz, params_key, save_npz_atomic
from ecglib.beats import BeatConfig, record_beats
from ecglib.data import CLASSES, FS, RECORDS, load_record
from ecglib.spectrogram import SpectrogramConfig, spectrogram_images

#: Bump when the cached arrays change meaning, so old caches are not reused.
CACHE_FORMAT = 4  # 4: STFT projection in float64
_FIELDS = ("images", "rr", "labels", "peaks")


@dataclass(frozen=True)
class Dataset:
    """Beats of several records, aligned along the first axis.

    Attributes
    ----------
    images
        ``(n, height, width)`` uint8 spectrograms (row 0 = lowest frequency).
    rr
        ``(n, 7)`` float32 RR features (:data:`ecglib.beats.RR_FEATURES`).
    labels
        ``(n,)`` int8 classes, 0 = N, 1 = S, 2 = V (:data:`ecglib.data.CLASSES`).
    records
        ``(n,)`` record name of each beat.
    peaks
        ``(n,)`` R-peak position in samples within its record.
    """

    images: np.ndarray
    rr: np.ndarray
    labels: np.ndarray
    records: np.ndarray
    peaks: np.ndarray

    def __post_init__(self) -> None:
        lengths = {f.name: len(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"a Dataset's arrays must hold one entry per beat, got lengths {lengths}")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, records: Sequence[str]) -> "Dataset":
        """The beats of the given records only (a copy).

        Parameters
        ----------
        records
            Record names (e.g. ``["100", "119"]``; other types are compared as ``str``).

        Returns
        -------
        Dataset
            Their beats, in this dataset's order (not the order of ``records``).

        Raises
        ------
        ValueError
            If a record holds no beat of this dataset.
        """
        records = [str(r) for r in records]
        unknown = sorted(set(records) - set(np.unique(self.records)))
        if unknown:
            raise ValueError(f"records {unknown} are not in this dataset")
        return self.take(np.isin(self.records, records))

    def positions(self, index) -> np.ndarray:
        """The integer positions ``index`` selects: itself, or the ``True`` entries of a mask.

        Parameters
        ----------
        index
            Integer positions (in any order, repeats allowed) or a boolean mask of ``len(self)``.

        Returns
        -------
        numpy.ndarray
            1-D integer positions (an empty ``index`` gives an empty integer array).

        Raises
        ------
        ValueError
            If a boolean mask has another length than the dataset.
        """
        index = np.asarray(index)
        if index.dtype == bool:
            if index.shape != (len(self),):
                raise ValueError(f"a boolean index needs one entry per beat ({len(self)}), got shape {index.shape}")
            return np.flatnonzero(index)
        return index.astype(np.intp) if index.size == 0 else index

    def take(self, index: np.ndarray) -> "Dataset":
        """The beats at ``index``, as a new Dataset.

        Parameters
        ----------
        index
            Integer positions (in any order, repeats allowed) or a boolean mask of ``len(self)``
            (:meth:`positions`).

        Returns
        -------
        Dataset
            The selected beats in the order of ``index`` (copies of the arrays).

        Raises
        ------
        ValueError
            If a boolean mask has another length than the dataset.
        """
        pos = self.positions(index)
        return Dataset(*(getattr(self, f.name)[pos] for f in dataclasses.fields(self)))

    def class_counts(self) -> dict[str, tuple[int, int, int]]:
        """``{record: (n_N, n_S, n_V)}`` for every record in the dataset."""
        out = {}
        for rec in np.unique(self.records):
            counts = np.bincount(self.labels[self.records == rec], minlength=len(CLASSES))
            out[str(rec)] = tuple(int(c) for c in counts)
        return out


def dataset_params(beat_config: BeatConfig, spec_config: SpectrogramConfig) -> dict:
    """Every parameter that determines a record's cached arrays (the cache key's input).

    Parameters
    ----------
    beat_config
        How beats are cut and labelled (all its fields, the band-pass filter included).
    spec_config
        How spectrograms are made (all its fields).

    Returns
    -------
    dict
        ``{"format": CACHE_FORMAT, "fs": FS, "beats": {...}, "spectrogram": {...}}``, passed through
        JSON (tuples become lists) so that it compares equal to the copy stored in a cache file.
    """
    params = {
        "format": CACHE_FORMAT,
        "fs": FS,
        "beats": dataclasses.asdict(beat_config),
        "spectrogram": dataclasses.asdict(spec_config),
    }
    return json.loads(json.dumps(params))  # tuples → lists, as they come back from the cache file


def cache_path(record: str, params: dict, root: str | os.PathLike | None = None) -> Path:
    """Cache file of one record for the given parameters.

    Parameters
    ----------
    record
        Record name, e.g. ``"100"`` (used as given in the file name; not checked).
    params
        Output of :func:`dataset_params`; its hash (16 hex digits) goes into the file name.
    root
        Cache directory (used as given: ``~`` is not expanded). None (default):
        ``<ecglib cache dir>/datasets`` (see :func:`ecglib._io.cache_dir`).

    Returns
    -------
    Path
        ``<root>/mitdb-<record>-<hash>.npz`` (the file may not exist yet).
    """
    root = Path(root) if root is not None else cache_dir() / "datasets"
    return root / f"mitdb-{record}-{params_key(params)}.npz"


def _build_record(record: str, beat_config: BeatConfig, spec_config: SpectrogramConfig, data_dir) -> dict:
    rec = load_record(record, data_dir)
    beats = record_beats(rec, beat_config)
    images = spectrogram_images(beats.windows, rec.fs, spec_config)
    return {"images": images, "rr": beats.rr, "labels": beats.labels, "peaks": beats.peaks}


def _load_cached(path: Path, params: dict) -> dict | None:
    """Arrays from a valid cache file, or None (missing, corrupt, or written for other parameters)."""
    if not path.is_file():
        return None
    try:
        arrays, meta = load_npz(path)
    except ValueError as exc:
        warnings.warn(f"{exc}; rebuilding it", stacklevel=3)
        return None
    n = len(arrays.get("labels", ()))
    if meta.get("params") != params or set(arrays) != set(_FIELDS) or any(len(arrays[k]) != n for k in _FIELDS):
        warnings.warn(f"cache file {path} does not match its parameters or is incomplete; rebuilding it", stacklevel=3)
        return None
    return arrays


def build_dataset(
    records: Sequence[str] = RECORDS,
    beat_config: BeatConfig = BeatConfig(),
    spec_config: SpectrogramConfig = SpectrogramConfig(),
    *,
    data_dir: str | os.PathLike | None = None,
    cache: bool = True,
    cache_root: str | os.PathLike | None = None,
    progress: bool = True,
) -> Dataset:
    """Images, RR features, labels, record ids and peak positions for ``records``.

    Parameters
    ----------
    records
        Record names (default: all 48).
    beat_config, spec_config
        How beats are cut and labelled, and how spectrograms are made.
    data_dir
        MIT-BIH directory (see :func:`ecglib.data.find_data_dir`).
    cache
        Read and write per-record cache files.
    cache_root
        Cache directory; default ``<ecglib cache dir>/datasets``.
    progress
        Show a progress bar over records.

    Returns
    -------
    Dataset
    """
    from tqdm.auto import tqdm

    records = [str(r) for r in records]
    if not records:
        raise ValueError("records is empty: name at least one MIT-BIH record")
    if len(set(records)) != len(records):
        raise ValueError(f"records contains duplicates: {records}")
    params = dataset_params(beat_config, spec_config)
    parts: list[dict] = []
    for rec in tqdm(records, desc="beats → spectrograms", unit="record", disable=not progress):
        path = cache_path(rec, params, cache_root)
        arrays = _load_cached(path, params) if cache else None
        if arrays is None:
            arrays = _build_record(rec, beat_config, spec_config, data_dir)
            if cache:
                save_npz_atomic(path, arrays, {"params": params, "record": rec})
        parts.append(arrays)
    sizes = [len(p["labels"]) for p in parts]
    out = {}
    for key in _FIELDS:
        out[key] = np.concatenate([p[key] for p in parts])
        for p in parts:  # drop each part as soon as it is copied, to bound peak memory
            del p[key]
    rec_ids = np.repeat(np.array(records), sizes)
    return Dataset(records=rec_ids, **out)


def class_counts(records: Sequence[str] = RECORDS, beat_config: BeatConfig = BeatConfig(), data_dir=None) -> dict:
    """``{record: (n_N, n_S, n_V)}`` beats kept per record, without computing spectrograms (fast).

    Parameters
    ----------
    records
        Record names (each read with :func:`ecglib.data.load_record`); default all 48.
    beat_config
        How beats are cut and labelled (:func:`ecglib.beats.record_beats`); default ``BeatConfig()``.
    data_dir
        MIT-BIH directory (see :func:`ecglib.data.find_data_dir`); default None.

    Returns
    -------
    dict
        ``{record: (n_N, n_S, n_V)}``, keys as ``str``, counts as ``int`` (F and Q beats and beats
        too near a record's ends are not counted).
    """
    out = {}
    for rec in records:
        labels = record_beats(load_record(rec, data_dir), beat_config).labels
        out[str(rec)] = tuple(int(c) for c in np.bincount(labels, minlength=len(CLASSES)))
    return out
