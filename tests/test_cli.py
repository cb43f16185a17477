"""The `mujo` command: synth, info and validate end to end, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mujo.cli import build_parser, main
from mujo.commands.common import EXIT_INTERRUPTED, EXIT_USAGE, Interrupted, run_job

REPO = Path(__file__).resolve().parents[1]


def test_every_command_has_help() -> None:
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001
    assert {"synth", "validate", "info"} <= names


def test_synth_info_validate(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ds"
    assert main(["synth", str(out), "--preset", "tiny", "--no-video", "--workers", "1"]) == 0
    assert main(["info", str(out)]) == 0
    assert "clips: " in capsys.readouterr().out
    assert main(["validate", str(out), "--json"]) == 0
    problems = json.loads(capsys.readouterr().out)
    assert all(p["severity"] != "error" for p in problems)


def test_validate_exit_codes(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(tmp_path)]) == 1  # not a dataset at all
    assert "fimad.json" in capsys.readouterr().err
    (tmp_path / "fimad.json").write_text('{"format": "fimad", "version": 1, "fps": 50}')
    (tmp_path / "clips.csv").write_text("clip_id,n_frames\n../evil,10\nok,10\n")
    assert main(["validate", str(tmp_path)]) == 0  # one bad clip does not make the dataset unusable
    assert "../evil" in capsys.readouterr().out


def test_light_commands_do_not_import_torch(tmp_path: Path) -> None:
    """The parser (every command's flags) and `mujo info` / `mujo validate` load no torch: handlers load lazily."""
    code = ("import sys\nfrom mujo.cli import build_parser, main\nbuild_parser()\n"
            f"codes = [main([c, {str(tmp_path)!r}]) for c in ('info', 'validate')]\n"
            "print(codes, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[1, 1] False"


def test_run_job_states_and_exit_codes(tmp_path: Path, capsys) -> None:
    """run_job: done with the report's message, a listed error -> its code, Ctrl-C -> 130, anything else raises."""
    job = tmp_path / "job.json"

    def state() -> tuple[str, str, str]:
        d = json.loads(job.read_text())
        return d["state"], d["message"], d["error"]

    def interrupt(progress):
        raise KeyboardInterrupt

    def bad(progress):
        raise ValueError("bad value")

    def broken(progress):
        raise RuntimeError("boom")

    def stopped_early(result):
        raise Interrupted("stopped; resume", None)

    assert run_job("x", lambda progress: progress(0.5, "half") or 7, lambda r: f"got {r}", progress_file=str(job)) == 0
    assert state() == ("done", "got 7", "")
    assert run_job("x", bad, str, progress_file=str(job), errors=((ValueError, EXIT_USAGE),)) == EXIT_USAGE
    assert state()[::2] == ("failed", "bad value") and "mujo x: bad value" in capsys.readouterr().err
    assert run_job("x", interrupt, str, progress_file=str(job),
                   interrupted=Interrupted("interrupted; run again", "\nstopped here")) == EXIT_INTERRUPTED
    assert state()[::2] == ("failed", "interrupted; run again") and "stopped here" in capsys.readouterr().err
    assert run_job("x", lambda progress: 1, stopped_early, progress_file=str(job)) == EXIT_INTERRUPTED
    assert state()[::2] == ("failed", "stopped; resume")
    with pytest.raises(RuntimeError):
        run_job("x", broken, str, progress_file=str(job), errors=((ValueError, EXIT_USAGE),))
    assert state()[::2] == ("failed", "RuntimeError: boom")
