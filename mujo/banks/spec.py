"""What a window bank holds (BankSpec, asked for) and what it is built from (Sources, found in the dataset)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mujo.features.text import TextFeatures
from mujo.fimad.skeleton import IMU_SITES
from mujo.modality import Modality

IMU_CHANNELS = ("acc", "gyro")


@dataclass(frozen=True)
class BankSpec:
    """What a bank holds. Values are normalised on creation (enum members, tuples, channels in [acc, gyro] order).

    imu_sites None means every site of the dataset; video_feature None means the dataset's precomputed video
    features when it lists some, else "mujo_flow".
    """

    modalities: tuple[Modality, ...] = tuple(Modality)
    imu_sites: tuple[str, ...] | None = None
    imu_channels: tuple[str, ...] = IMU_CHANNELS
    window: int = 100
    hop: int = 50
    trim: float = 0.15
    text_field: str = "chapter_norm"
    video_feature: str | None = None

    def __post_init__(self) -> None:
        mods = tuple(dict.fromkeys(Modality(m) for m in self.modalities))
        if not mods:
            raise ValueError("a bank needs at least one modality")
        channels = tuple(self.imu_channels)
        bad = [c for c in channels if c not in IMU_CHANNELS]
        if bad or not channels:
            raise ValueError(f"imu_channels must be a non-empty subset of {IMU_CHANNELS}, got {list(channels)}")
        sites = None if self.imu_sites is None else tuple(dict.fromkeys(self.imu_sites))
        unknown = [s for s in sites or () if s not in IMU_SITES]
        if unknown or sites == ():
            raise ValueError(f"imu_sites must be a non-empty list of {', '.join(IMU_SITES)}; unknown: {unknown}")
        if int(self.window) != self.window or self.window < 2 or int(self.hop) != self.hop or self.hop < 1:
            raise ValueError(f"window (>= 2) and hop (>= 1) must be integers, got {self.window}, {self.hop}")
        for name, value in (("modalities", mods), ("imu_sites", sites), ("window", int(self.window)),
                            ("hop", int(self.hop)), ("trim", float(self.trim)),
                            ("imu_channels", tuple(c for c in IMU_CHANNELS if c in channels))):
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (modalities as their values)."""
        d = asdict(self)
        d["modalities"] = [m.value for m in self.modalities]
        d["imu_sites"] = None if self.imu_sites is None else list(self.imu_sites)
        d["imu_channels"] = list(self.imu_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BankSpec:
        return cls(**d)


@dataclass
class Sources:
    """What a bank is built from: the modalities found, their features and the IMU layout."""

    modalities: tuple[Modality, ...]  # requested and present, in the spec's order
    missing: dict[str, str]  # requested modality -> why the bank lacks it
    window: int
    hop: int
    trim: float
    site_index: list[int] = field(default_factory=list)  # positions of the requested sites in the dataset's arrays
    channels: tuple[str, ...] = ()
    text: TextFeatures | None = None
    video_feature: str | None = None
    video_dim: int = 0
