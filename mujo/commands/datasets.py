"""`mujo target-info`: list the registered target datasets, or summarise one (recordings, classes, windows, splits)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, with_bar
from mujo.datasets import describe_targets, open_target
from mujo.datasets.base import DatasetError
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import dataset_splits, split_rows


def cmd_target_info(args: argparse.Namespace) -> int:
    if not args.spec:
        for d in describe_targets():
            print(f"{d['name']:<16} {'present' if d['exists'] else 'missing':<8} {d['root']}\n"
                  f"{'':<16} {d['description']}")
        return EXIT_OK
    try:
        ds = open_target(args.spec)
        info = ds.info
        channels = tuple(c for c in ("acc", "gyro") if c in info.channels and (c == "acc" or args.gyro))
        spec = PrepareSpec(channels=channels, pose=args.pose and info.has_pose)
        ws = with_bar("prepare", lambda bar: prepare(ds, spec, cache=not args.no_cache, progress=bar))
    except (DatasetError, ValueError, OSError) as e:
        print(f"unusable dataset: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(repr(ds))
    print(f"name: {info.name}\nnative rate: {info.rate:g} Hz -> {spec.rate:g} Hz, windows {spec.window}/{spec.hop}")
    print("placements: " + ", ".join(f"{p} -> {s}" for p, s in info.placements.items()))
    print(f"channels: {', '.join(info.channels)}; pose: {'yes' if info.has_pose else 'no'}; "
          f"NULL class: {'yes' if info.has_null else 'no'}")
    print(f"recordings: {len(ws.recording_ids)} of {len(ds)}; subjects: {len(ws.subjects)}; windows: {len(ws)}")
    counts = np.bincount(ws.targets(True), minlength=len(ws.classes) + 1)
    print("windows per class:")
    for name, n in zip(ws.class_names(True), counts):
        if name != "NULL" or info.has_null:
            phrase = info.prompts.get(name)
            print(f"  {n:>7}  {name}" + (f"  ({phrase})" if phrase and phrase != name else ""))
    print("splits (windows train / val / test, without NULL):")
    y = ws.targets(False)
    for split in dataset_splits(ws):
        rows = split_rows(ws, split)
        parts = " / ".join(str(int((y[rows[p]] >= 0).sum())) for p in ("train", "val", "test"))
        print(f"  {split.name:<10} {parts}   test {split.key}s: {', '.join(split.test)}")
    if ws.problems:
        print(f"problems ({len(ws.problems)}):")
        for p in ws.problems[:args.limit]:
            print(f"  {p}")
    if ws.path is not None:
        print(f"cache: {ws.path}")
    return EXIT_OK
