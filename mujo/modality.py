"""The modalities of the joint space; per-modality parts of the code base are keyed by these values."""

from __future__ import annotations

from enum import StrEnum


class Modality(StrEnum):
    """One input modality. The value is the key of the modality's encoder, projection, config entry and batch."""

    TEXT = "text"  # a text embedding of the clip's chapter (or caption, ...), (B, Dt)
    VIDEO = "video"  # per-window video features, (B, Dv)
    POSE = "pose"  # 3D skeleton sequence, (B, T, 17, 3)
    IMU = "imu"  # (virtual) IMU sequence, (B, T, S, C) with C = 3 per channel group (acc, gyro)
