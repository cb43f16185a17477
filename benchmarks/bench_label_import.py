"""A label import at its row limit: file size, the time to read and check it, and the memory it takes, per format.

    python benchmarks/bench_label_import.py [--rows N]

Writes a per-clip label file of N rows (default `mujo.curation.label_read.MAX_IMPORT_ROWS`) as CSV, JSON Lines and
Parquet, then checks each in a fresh process (`parse_label_file`, what the Curation page's upload and `mujo labels
import --dry-run` do) and prints the time and the peak resident memory above that process's start.

Then two hostile Parquet files (tests/parquet_hostile.py), each within the byte limit and with a sane footer: one
whose page header claims 2 GiB uncompressed, and one whose single page really decompresses to 256 MiB while its
footer says 1000 bytes. Each is checked under the default limits, and once more with the page-header check turned
off (`--unchecked`), to show what the check saves.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
HOSTILE_MIB = 256  # what the second hostile file's page really decompresses to


def _write(folder: Path, n: int) -> list[Path]:
    import pandas as pd  # noqa: PLC0415

    from mujo.curation.label_export import write_table  # noqa: PLC0415

    df = pd.DataFrame({"dataset": "/data/fimad", "clip_id": [f"clip{i:06d}" for i in range(n)], "t0_s": 0.0,
                       "t1_s": None, "label": "null", "activity": None, "annotator": "ann",
                       "note": "a short remark about the clip", "created": "2026-12-07T12:00:00+00:00",
                       "event_id": range(1, n + 1)})
    return [write_table(df, folder / f"labels.{fmt}", fmt) for fmt in ("csv", "jsonl", "parquet")]


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check(path: Path) -> None:
    from mujo.curation.label_import import parse_label_file  # noqa: PLC0415

    base = _peak_mib()
    t = time.perf_counter()
    events = parse_label_file(path, max_rows=10**9, max_bytes=2**40)
    seconds = time.perf_counter() - t
    peak = _peak_mib()
    print(f"{path.suffix[1:]:8s} {len(events):>9,} rows {path.stat().st_size / 2**20:7.1f} MiB  checked in "
          f"{seconds:5.1f} s  peak memory +{peak - base:.0f} MiB")


def _hostile(path: Path, unchecked: bool) -> None:
    """One hostile file under the default limits: the outcome, the time and the peak memory above the start."""
    from mujo.curation import label_read  # noqa: PLC0415
    from mujo.curation.label_import import parse_label_file  # noqa: PLC0415

    if unchecked:
        label_read._check_pages = lambda *a: None
    base = _peak_mib()
    t = time.perf_counter()
    try:
        outcome = f"read {len(parse_label_file(path))} rows"
    except ValueError as e:
        outcome = f"refused: {str(e).replace(str(path.parent) + '/', '')[:110]}"
    seconds = time.perf_counter() - t
    how = "page check off" if unchecked else "page check on "
    print(f"  {path.name:22s} {path.stat().st_size:>6,} bytes  {how} {seconds:5.2f} s  peak memory "
          f"+{_peak_mib() - base:4.0f} MiB  {outcome}")


def _hostile_files(folder: Path) -> list[Path]:
    from parquet_hostile import footer_lies, header_claims  # noqa: PLC0415

    return [header_claims(folder / "header-claims-2GiB.parquet"),
            footer_lies(folder / f"page-{HOSTILE_MIB}MiB-footer-1kB.parquet", HOSTILE_MIB * 2**20)]


def main() -> None:
    from mujo.curation.label_read import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=MAX_IMPORT_ROWS)
    ap.add_argument("--check", type=Path, help=argparse.SUPPRESS)  # the fresh process
    ap.add_argument("--hostile", type=Path, help=argparse.SUPPRESS)  # the fresh process of a hostile file
    ap.add_argument("--unchecked", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.check:
        _check(args.check)
        return
    if args.hostile:
        _hostile(args.hostile, args.unchecked)
        return
    print(f"limits: {MAX_IMPORT_ROWS:,} rows, {MAX_IMPORT_BYTES / 2**20:g} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        for path in _write(Path(tmp), args.rows):
            subprocess.run([sys.executable, __file__, "--check", str(path)], check=True)
        print("hostile Parquet (a sane footer, within the byte limit):")
        for path in _hostile_files(Path(tmp)):
            for flag in ([], ["--unchecked"]):
                subprocess.run([sys.executable, __file__, "--hostile", str(path), *flag], check=True)


if __name__ == "__main__":
    main()
