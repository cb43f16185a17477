"""What a check of a FiMAD dataset finds: one Problem per finding, gathered in a ValidationReport."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["SEVERITIES", "Problem", "ValidationReport"]

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Problem:
    """One finding: which clip (None for the dataset as a whole), which file (relative to the root), what."""

    clip_id: str | None
    file: str
    kind: str  # e.g. "unreadable", "shape", "nan_gap", "duplicate_id" (see ValidationReport.counts)
    severity: str  # "error" (that data cannot be used), "warning" (usable with care) or "info"
    message: str


@dataclass
class ValidationReport:
    """Everything `validate_dataset` found, with coverage counts."""

    root: Path
    usable: bool  # the dataset opened and lists at least one clip
    n_clips: int
    problems: list[Problem] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)  # modality -> clips that have its file

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: clip_id, file, kind, severity, message."""
        cols = ["clip_id", "file", "kind", "severity", "message"]
        return pd.DataFrame([[getattr(p, c) for c in cols] for p in self.problems], columns=cols)

    def clips_with_problems(self, severity: str | None = None) -> set[str]:
        """Clip ids named by a problem (of that severity, if given)."""
        return {p.clip_id for p in self.problems if p.clip_id is not None and severity in (None, p.severity)}

    def counts(self) -> dict[str, int]:
        """Number of problems per kind."""
        return dict(Counter(p.kind for p in self.problems))

    def severity_counts(self) -> dict[str, int]:
        """Number of problems per severity (all three keys present)."""
        c = Counter(p.severity for p in self.problems)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def summary(self) -> str:
        """A few human-readable lines."""
        sev = self.severity_counts()
        lines = [f"{self.root}: {'usable' if self.usable else 'NOT usable'}, {self.n_clips} clips; "
                 f"{sev['error']} errors, {sev['warning']} warnings, {sev['info']} notes"]
        if self.coverage:
            lines.append("coverage: " + ", ".join(f"{m} {n}/{self.n_clips}" for m, n in self.coverage.items()))
        for kind, n in sorted(self.counts().items(), key=lambda kv: -kv[1]):
            if kind == "coverage":  # already the line above
                continue
            first = next(p for p in self.problems if p.kind == kind)
            where = f"{first.clip_id}: " if first.clip_id else ""
            lines.append(f"  {kind} x{n} (e.g. {where}{first.file}: {first.message})")
        return "\n".join(lines)
