"""Sweep reports: mean ± std table, paired tests against the baseline, boxplot figure, CSV export."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mujo.datasets.inputs import inputs_text
from mujo.train import sweep_report as sr


def fake_results(repeats: int = 5, fractions=(0.02, 1.0), seed: int = 0) -> pd.DataFrame:
    """Results of a sweep: baseline + MuJo frozen/fine-tuned (+ a simCLR fine-tuned), fine-tuned clearly better."""
    rng = np.random.default_rng(seed)
    rows = []
    run = 0
    for frac in fractions:
        for r in range(repeats):
            base = 0.5 + 0.3 * frac + 0.02 * rng.normal()
            for scen, ckpt, method, gain in (("baseline", "/m/mujo-a", "mujo", 0.0),
                                             ("frozen", "/m/mujo-a", "mujo", -0.01),
                                             ("finetuned", "/m/mujo-a", "mujo", 0.08),
                                             ("finetuned", "/m/simclr/best", "simclr", 0.03)):
                run += 1
                rows.append({"sweep_id": 1, "run_id": run, "dataset": "motionsense", "checkpoint": ckpt,
                             "method": method, "scenario": scen, "fraction": frac, "repeat": r, "null": False,
                             "inputs": ("imu",), "split": f"random-{r}",
                             "macro_f1": base + gain + 0.005 * rng.normal(), "accuracy": base + 0.1,
                             "seconds": 1.0})
    return pd.DataFrame(rows)


def test_model_labels() -> None:
    d = sr.prepare(fake_results(repeats=1, fractions=(1.0,)))
    assert list(d["model"]) == ["Baseline", "MuJo (frozen)", "MuJo (fine-tuned)", "simCLR (fine-tuned)"]
    assert set(d["inputs"]) == {"imu"}
    # two checkpoints of one method are told apart by their folder
    df = fake_results(repeats=1, fractions=(1.0,))
    df.loc[df["method"] == "simclr", "method"] = "mujo"
    labels = set(sr.prepare(df)["model"])
    assert {"MuJo mujo-a (fine-tuned)", "MuJo simclr/best (fine-tuned)"} <= labels


def test_summary_table_mean_std() -> None:
    df = fake_results()
    table = sr.summary_table(df)
    assert list(table.columns) == ["2%", "100%"]
    models = list(table.index.get_level_values("model"))
    assert models[0] == "Baseline" and models[-1] in ("simCLR (fine-tuned)",)
    base = df[(df["scenario"] == "baseline") & (df["fraction"] == 1.0)]["macro_f1"]
    cell = table.loc[("motionsense", "imu", False, "Baseline"), "100%"]
    m, s = f"{base.mean():.3f}"[1:], f"{base.std(ddof=1):.3f}"[1:]
    assert cell == f"{m} ± {s} (n=5)"
    stats_ = sr.summary_stats(df)
    assert set(stats_["n"]) == {5}


def test_summary_table_single_run_and_missing_cells() -> None:
    df = fake_results(repeats=1)
    df = df[~((df["scenario"] == "frozen") & (df["fraction"] == 0.02))]
    table = sr.summary_table(df)
    assert "±" not in table.loc[("motionsense", "imu", False, "Baseline"), "2%"]
    assert table.loc[("motionsense", "imu", False, "MuJo (frozen)"), "2%"] == ""
    assert sr.summary_table(df.iloc[0:0]).empty


def test_paired_tests_match_scipy() -> None:
    df = fake_results(repeats=6)
    tests = sr.paired_tests(df)
    assert len(tests) == 2 * 3  # 2 fractions x 3 pre-trained models
    row = tests[(tests["fraction"] == 0.02) & (tests["model"] == "MuJo (fine-tuned)")].iloc[0]
    d = df[df["fraction"] == 0.02]
    base = d[d["scenario"] == "baseline"].set_index("repeat")["macro_f1"]
    ft = d[(d["scenario"] == "finetuned") & (d["method"] == "mujo")].set_index("repeat")["macro_f1"]
    diff = (ft - base).to_numpy()
    assert row["n_pairs"] == 6
    assert row["mean_diff"] == pytest.approx(diff.mean())
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(ft, base).pvalue)
    t = stats.ttest_rel(ft, base)
    assert row["t_stat"] == pytest.approx(t.statistic) and row["t_p"] == pytest.approx(t.pvalue)
    assert row["significant"] and row["mean_diff"] > 0.05
    frozen = tests[(tests["fraction"] == 0.02) & (tests["model"] == "MuJo (frozen)")].iloc[0]
    assert frozen["mean_diff"] < 0


def test_significance_falls_back_to_paired_t_below_six_pairs() -> None:
    """Two-sided Wilcoxon cannot go below 2 / 2^n (0.0625 for 5 pairs): with 5 repeats the paired t test decides."""
    five = sr.paired_tests(fake_results(repeats=5))
    row = five[(five["fraction"] == 0.02) & (five["model"] == "MuJo (fine-tuned)")].iloc[0]
    assert row["wilcoxon_p"] >= 0.0625 and row["t_p"] < 0.05
    assert row["decided_by"] == "paired t" and row["significant"]
    six = sr.paired_tests(fake_results(repeats=6))
    assert set(six["decided_by"]) == {"Wilcoxon"}


def test_paired_tests_pair_by_repeat_and_edge_cases() -> None:
    df = fake_results(repeats=4, fractions=(0.1,))
    # shuffling rows must not change the pairing
    shuffled = df.sample(frac=1.0, random_state=3)
    a, b = sr.paired_tests(df), sr.paired_tests(shuffled)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    # a repeat missing on one side is not paired
    part = df[~((df["scenario"] == "finetuned") & (df["repeat"] == 3))]
    assert set(sr.paired_tests(part)["n_pairs"]) == {3, 4}
    # one pair: no test
    one = sr.paired_tests(df[df["repeat"] == 0])
    assert (one["n_pairs"] == 1).all() and one["wilcoxon_p"].isna().all() and not one["significant"].any()
    # identical values: p = 1
    same = df.copy()
    same["macro_f1"] = 0.5
    assert (sr.paired_tests(same)["wilcoxon_p"] == 1.0).all()
    # no baseline: nothing to compare
    assert sr.paired_tests(df[df["scenario"] != "baseline"]).empty
    assert sr.paired_tests(df.iloc[0:0]).empty


def test_null_and_inputs_are_separate_groups() -> None:
    a = fake_results(repeats=3, fractions=(1.0,))
    b = a.copy()
    b["null"] = True
    c = a.copy()
    c["inputs"] = [("imu", "pose")] * len(c)
    df = pd.concat([a, b, c], ignore_index=True)
    tests = sr.paired_tests(df)
    assert set(map(tuple, tests[["inputs", "null"]].drop_duplicates().to_numpy())) == {
        ("imu", False), ("imu", True), ("imu+pose", False)}
    assert (tests["n_pairs"] == 3).all()
    table = sr.summary_table(df)
    assert ("motionsense", "imu+pose", False, "Baseline") in table.index


def test_boxplot_figure() -> None:
    df = fake_results(repeats=3, fractions=(0.01, 0.02, 1.0))
    fig = sr.boxplot_figure(df, "motionsense")
    names = [t.name for t in fig.data]
    assert names == ["Baseline", "MuJo (frozen)", "MuJo (fine-tuned)", "simCLR (fine-tuned)"]
    assert fig.layout.boxmode == "group"
    assert list(fig.layout.xaxis.categoryarray) == ["1%", "2%", "100%"]
    assert set(fig.data[0].x) == {"1%", "2%", "100%"}
    assert len(fig.data[0].y) == 9
    # several inputs: named apart; an unknown dataset gives an empty figure, not an error
    df2 = pd.concat([df, df.assign(inputs=[("pose",)] * len(df))], ignore_index=True)
    assert any("pose" in t.name for t in sr.boxplot_figure(df2, "motionsense").data)
    assert len(sr.boxplot_figure(df2, "motionsense", inputs="pose").data) == 4
    assert len(sr.boxplot_figure(df, "nope").data) == 0


def test_to_csv_round_trip() -> None:
    df = fake_results(repeats=2, fractions=(0.05,))
    text = sr.to_csv(df)
    back = pd.read_csv(io.StringIO(text))
    assert len(back) == len(df) and set(back["inputs"]) == {"imu"}
    assert back["macro_f1"].to_numpy() == pytest.approx(df["macro_f1"].to_numpy())
    assert "fraction" in back and math.isclose(back["fraction"][0], 0.05)


def test_helpers() -> None:
    assert sr.fraction_label(0.02) == "2%" and sr.fraction_label(0.005) == "0.5%" and sr.fraction_label(1) == "100%"
    assert sr.checkpoint_name("/a/run/best") == "run/best" and sr.checkpoint_name(None) == ""
    assert inputs_text('["imu", "pose"]') == "imu+pose" and inputs_text(["pose"]) == "pose"


def test_baselines_pair_by_architecture() -> None:
    """Two checkpoint architectures: each pre-trained model is compared with the baseline of its architecture."""
    rows = []
    for r in range(4):
        for arch, ckpt, base, gain in (("arch-a", "/m/a", 0.5, 0.1), ("arch-b", "/m/b", 0.8, -0.1)):
            rows.append({"dataset": "d", "checkpoint": ckpt, "method": "", "scenario": "baseline", "fraction": 1.0,
                         "repeat": r, "null": False, "inputs": "imu", "macro_f1": base + 0.01 * r,
                         "architecture": arch})
            rows.append({"dataset": "d", "checkpoint": ckpt, "method": "mujo", "scenario": "finetuned",
                         "fraction": 1.0, "repeat": r, "null": False, "inputs": "imu",
                         "macro_f1": base + gain + 0.02 * r, "architecture": arch})
    tests = sr.paired_tests(pd.DataFrame(rows)).set_index("model")
    assert tests.loc["MuJo a (fine-tuned)", "mean_diff"] > 0.05
    assert tests.loc["MuJo b (fine-tuned)", "mean_diff"] < -0.05
    assert {"Baseline a", "Baseline b"} <= set(sr.prepare(pd.DataFrame(rows))["model"])


def test_one_baseline_per_dataset_keeps_its_plain_label() -> None:
    a = fake_results(repeats=2, fractions=(1.0,)).assign(architecture="arch-a")
    b = a.assign(dataset="mhealth", architecture="arch-b")
    labels = set(sr.prepare(pd.concat([a, b], ignore_index=True))["model"])
    assert "Baseline" in labels and not any(m.startswith("Baseline ") for m in labels)
