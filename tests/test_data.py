import numpy as np
import pytest

from ecglib import data
from ecglib.data import RECORDS, class_summary, download_mitdb, find_data_dir, load_record, subject_id


def test_record_list_and_subjects():
    assert len(RECORDS) == 48 and len(set(RECORDS)) == 48
    assert len({subject_id(r) for r in RECORDS}) == 47
    assert subject_id("202") == subject_id("201") == "201"
    with pytest.raises(ValueError, match="unknown MIT-BIH record '999'"):
        subject_id("999")


def test_beat_annotation_totals_match_physionet():
    table = class_summary()
    total = table.pop("total")
    # PhysioNet: 109,494 beat annotations over the 48 records.
    assert total["N"] + total["S"] + total["V"] + total["F"] + total["Q"] == 109_494
    assert (total["N"], total["S"], total["V"], total["F"], total["Q"]) == (90_631, 2_781, 7_236, 803, 8_043)
    assert len(table) == 48
    assert table["208"]["V"] == 992 and table["232"]["S"] == 1_382


def test_load_record_leads_and_units():
    rec = load_record("100")
    assert rec.fs == 360 and rec.lead == "MLII" and len(rec.signal) == 650_000
    assert 0.3 < np.ptp(rec.signal[:3600]) < 5.0  # a few mV, not ADC units
    assert load_record("114").lead == "MLII"  # MLII is the second channel in 114
    assert load_record("102").lead == "V5"  # 102 and 104 have no MLII
    v1 = load_record("100", lead="V5")
    assert v1.lead == "V5" and not np.allclose(v1.signal, rec.signal)
    with pytest.raises(ValueError, match=r"record 100 has no lead 'V1'; its leads are \['MLII', 'V5'\]"):
        load_record("100", lead="V1")
    samples, symbols = rec.beats()
    assert len(samples) == 2_273 and set(symbols) <= set("NA V")


def test_missing_data_dir_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGLIB_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="ECGLIB_DATA_DIR.*download"):
        find_data_dir()
    with pytest.raises(FileNotFoundError, match="data_dir argument"):
        find_data_dir(tmp_path)


def test_explicit_dir_beats_env(record_copy, monkeypatch):
    folder = record_copy("100")
    monkeypatch.setenv("ECGLIB_DATA_DIR", "/definitely/not/here")
    assert find_data_dir(folder) == folder
    assert load_record("100", folder).name == "100"


def test_unknown_record():
    with pytest.raises(ValueError, match="unknown MIT-BIH record '99'"):
        load_record("99")


def test_truncated_dat_is_named(record_copy):
    folder = record_copy("100")
    dat = folder / "100.dat"
    dat.write_bytes(dat.read_bytes()[:100_000])
    with pytest.raises(ValueError, match=r"100\.dat is truncated"):
        load_record("100", folder)


def test_corrupt_atr_is_named(record_copy):
    folder = record_copy("100")
    atr = folder / "100.atr"
    raw = bytearray(atr.read_bytes())
    rng = np.random.default_rng(0)
    raw[10:4000] = rng.integers(0, 256, 3990, dtype=np.uint8).tobytes()
    atr.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"100\.atr"):
        load_record("100", folder)


def test_missing_record_file(record_copy):
    folder = record_copy("100")
    (folder / "100.atr").unlink()
    with pytest.raises(FileNotFoundError, match=r"100\.atr is missing"):
        load_record("100", folder)


def _write_at_250_hz(folder, data_dir):
    """A real 60-s piece of record 100 resampled to 250 Hz, written as a WFDB record."""
    import wfdb

    src = load_record("100", data_dir)
    sig, ann = data.resample_to(src.signal[: 360 * 60], src.ann_samples[src.ann_samples < 360 * 60], 360, 250)
    keep = src.ann_samples < 360 * 60
    wfdb.wrsamp("100", fs=250, units=["mV"], sig_name=["MLII"], p_signal=sig[:, None], fmt=["16"], write_dir=str(folder))
    wfdb.wrann("100", "atr", ann, symbol=list(src.ann_symbols[keep]), write_dir=str(folder))
    return len(sig), int(keep.sum())


def test_other_sampling_rate_refused_or_resampled(tmp_path, data_dir):
    n250, n_ann = _write_at_250_hz(tmp_path, data_dir)
    with pytest.raises(ValueError, match="250 Hz but the pipeline assumes 360 Hz"):
        load_record("100", tmp_path)
    rec = load_record("100", tmp_path, resample=True)
    assert rec.fs == 360 and abs(len(rec.signal) - 360 * 60) <= 2
    assert len(rec.ann_samples) == n_ann


def _local_fetch(data_dir, log=None, corrupt=None, fail_on=None):
    def fetch(fname, dest):
        if log is not None:
            log.append(fname)
        if fname == fail_on:
            dest.write_bytes(b"partial")
            raise ConnectionError("network dropped")
        payload = (data_dir / fname).read_bytes()
        if fname == corrupt:
            payload = payload[:-10] + b"0123456789"
        dest.write_bytes(payload)

    return fetch


def test_download_verifies_checksums_and_skips_good_files(tmp_path, data_dir):
    log: list[str] = []
    out = download_mitdb(tmp_path / "db", records=["100", "101"], progress=False, fetch=_local_fetch(data_dir, log))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["SHA256SUMS.txt"] + [f"{r}.{e}" for r in ("100", "101") for e in ("hea", "dat", "atr")]
    )
    assert load_record("101", out).name == "101"
    log.clear()
    download_mitdb(out, records=["100"], progress=False, fetch=_local_fetch(data_dir, log))
    assert log == ["SHA256SUMS.txt"]  # verified files are not fetched again


def test_download_rejects_bad_checksum_and_leaves_nothing(tmp_path, data_dir):
    dest = tmp_path / "db"
    with pytest.raises(OSError, match=r"checksum mismatch for 100\.dat"):
        download_mitdb(dest, records=["100"], progress=False, fetch=_local_fetch(data_dir, corrupt="100.dat"))
    assert not (dest / "100.dat").exists()
    with pytest.raises(ConnectionError):
        download_mitdb(dest, records=["100"], progress=False, fetch=_local_fetch(data_dir, fail_on="100.atr"))
    assert not (dest / "100.atr").exists()
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_parse_sha256sums_rejects_garbage():
    with pytest.raises(ValueError, match="line 1"):
        data.parse_sha256sums("not a checksum line\n")


def test_rhythms_follow_the_rhythm_annotations():
    record = load_record("222")
    changes = np.flatnonzero(record.ann_symbols == "+")
    assert record.ann_aux.shape == record.ann_samples.shape and record.ann_aux[changes[0]].startswith("(")
    flutter = changes[record.ann_aux[changes] == "(AFL"]
    start = record.ann_samples[flutter[0]]
    after = record.ann_samples[changes[changes > flutter[0]][0]]  # the next rhythm change
    assert list(record.rhythms(np.array([start - 1, start, after - 1]))) == [
        record.ann_aux[changes[changes < flutter[0]][-1]].lstrip("("), "AFL", "AFL"]
    assert record.rhythms(np.array([0]))[0] == ""  # before the first rhythm annotation
    beats, _ = load_record("100").beats()
    assert set(load_record("100").rhythms(beats)) == {"N"}
    with pytest.raises(ValueError, match="samples"):
        record.rhythms(np.array([1.5]))
