"""What a render is set up with: the pinhole Camera and the Appearance of the trainer and the room.

Conventions as in `mujo.synth.render`: world metres, right-handed, +y up; a trainer with yaw 0 faces +z.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Camera", "Appearance"]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking from ``position`` at ``target`` (world metres), up = +y, no roll.

    Pixel coordinates put the centre of the top-left pixel at (0, 0), x to the right, y down.
    """

    position: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y_deg: float = 45.0  # vertical field of view
    width: int = 320
    height: int = 240

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2:
            raise ValueError(f"camera image size must be at least 2x2, got {self.width}x{self.height}")
        if not 1.0 < self.fov_y_deg < 170.0:
            raise ValueError(f"camera fov_y_deg must be in (1, 170), got {self.fov_y_deg}")
        view = np.subtract(self.target, self.position, dtype=float)
        if np.linalg.norm(view) < 1e-6 or np.linalg.norm(view[[0, 2]]) < 1e-3 * np.linalg.norm(view):
            raise ValueError(f"camera must look at a distinct target and not straight up/down: {self}")

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / math.tan(math.radians(self.fov_y_deg) / 2)

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera rotation; rows are the camera's right, down and forward axes in world."""
        fwd = np.subtract(self.target, self.position, dtype=float)
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        return np.stack([right, np.cross(fwd, right), fwd])

    def resized(self, size: tuple[int, int]) -> Camera:
        """The same camera (same vertical field of view) with another image size (width, height)."""
        return replace(self, width=int(size[0]), height=int(size[1]))

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points.

        Args:
            points: (..., 3) world metres.
        Returns:
            uv (..., 2) pixels (NaN for points at or behind the camera plane) and depth (..., ) metres along the
            viewing axis.
        """
        cam = (np.asarray(points, dtype=float) - np.asarray(self.position)) @ self.rotation.T  # (..., 3)
        depth = cam[..., 2]
        safe = np.where(depth > 1e-6, depth, np.nan)
        centre = np.array([(self.width - 1) / 2, (self.height - 1) / 2])
        uv = self.focal_px * cam[..., :2] / safe[..., None] + centre
        return uv, depth

    @classmethod
    def sample(cls, rng: np.random.Generator, facing_rad: float = 0.0, *,
               center: tuple[float, float, float] = (0.0, 0.0, 0.0), size: tuple[int, int] = (320, 240)) -> Camera:
        """Place a camera the way fitness videos are filmed: in front of the trainer.

        Args:
            rng: the random generator.
            facing_rad: the trainer's yaw (0 = facing +z); the camera stands on that side.
            center: the trainer's position on the floor (x, floor height, z); see ``pose_anchor``.
            size: image (width, height).
        Returns:
            A camera 2.5-4.5 m away, 0.8-1.6 m above the floor, within +-30 deg of the trainer's front, looking
            slightly down or up at hip height, framed to show 2.4-2.8 m of height at the trainer.
        """
        cx, floor, cz = (float(v) for v in center)
        dist = rng.uniform(2.5, 4.5)
        yaw = facing_rad + math.radians(rng.uniform(-30.0, 30.0))
        pos = (cx + dist * math.sin(yaw), floor + rng.uniform(0.8, 1.6), cz + dist * math.cos(yaw))
        side = rng.uniform(-0.15, 0.15)  # trainer a little off-centre
        target = (cx + side * math.cos(yaw), floor + rng.uniform(0.9, 1.1), cz - side * math.sin(yaw))
        extent = rng.uniform(2.4, 2.8)
        fov = math.degrees(2 * math.atan(extent / 2 / dist))
        return cls(pos, target, float(np.clip(fov, 25.0, 65.0)), int(size[0]), int(size[1]))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))  # type: ignore[return-value]


_SKINS = ((255, 224, 196), (241, 194, 165), (224, 172, 138), (198, 134, 98), (160, 105, 70), (120, 78, 52),
          (88, 58, 40))
_HAIRS = ((30, 22, 18), (60, 40, 25), (110, 75, 40), (170, 130, 80), (215, 185, 130), (120, 120, 120))


@dataclass(frozen=True)
class Appearance:
    """How the trainer and the room look; colours are RGB 0-255."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    sleeves: str  # "none" | "short" | "long"
    shorts: bool  # shins bare
    thickness: float  # limb/torso thickness scale
    wall: tuple[int, int, int]
    wall_accent: tuple[int, int, int]
    wall_pattern: str  # "plain" | "panels" | "stripe" | "bricks"
    floor: tuple[int, int, int]
    floor_pattern: str  # "tiles" | "planks" | "lines"
    floor_scale: float  # tile / plank width, metres
    wall_distance: float  # metres from the trainer to the back wall
    mat: tuple[int, int, int] | None  # exercise mat colour, or no mat
    poster: tuple[int, int, int] | None  # a rectangle on the wall (picture, window), or none
    poster_x: float  # its lateral offset from the view centre, metres
    light_dir: tuple[float, float, float]  # unit vector from the figure towards the light (world)
    ambient: float  # share of light that is not directional

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Appearance:
        """A random trainer and room; all randomness comes from ``rng``."""
        skin = np.clip(np.array(_SKINS[rng.integers(len(_SKINS))]) + rng.normal(0, 6, 3), 0, 255)
        hair = _HAIRS[rng.integers(len(_HAIRS))]
        shirt = _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.35, 0.95))
        dark = rng.random() < 0.6  # most trainers wear dark leggings/shorts
        pants = _hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.12, 0.3)) if dark else \
            _hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.3, 0.8))
        shoes = _hsv(rng.random(), rng.uniform(0.0, 0.6), rng.choice([0.15, 0.9]))
        gym = rng.random() < 0.3  # darker gym vs bright living room / studio
        wall = _hsv(rng.random(), rng.uniform(0.02, 0.25), rng.uniform(0.3, 0.5) if gym else rng.uniform(0.7, 0.95))
        accent = _hsv(rng.random(), rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.8))
        floor_pattern = str(rng.choice(["tiles", "planks", "lines"]))
        floor = {"planks": _hsv(rng.uniform(0.05, 0.11), rng.uniform(0.35, 0.6), rng.uniform(0.45, 0.8)),
                 "tiles": _hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.55, 0.85)),
                 "lines": _hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.35))}[floor_pattern]
        scale = {"planks": rng.uniform(0.12, 0.22), "tiles": rng.uniform(0.3, 0.6), "lines": rng.uniform(0.8, 1.5)}
        az, el = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(40, 75))
        light = (math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az))
        return cls(
            skin=tuple(int(c) for c in skin), hair=hair,  # type: ignore[arg-type]
            shirt=shirt, pants=pants, shoes=shoes,
            sleeves=str(rng.choice(["none", "short", "short", "long"])), shorts=bool(rng.random() < 0.35),
            thickness=float(rng.uniform(0.85, 1.2)), wall=wall, wall_accent=accent,
            wall_pattern=str(rng.choice(["plain", "panels", "stripe", "bricks"])), floor=floor,
            floor_pattern=floor_pattern, floor_scale=float(scale[floor_pattern]),
            wall_distance=float(rng.uniform(1.2, 3.0)),
            mat=_hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8)) if rng.random() < 0.6 else None,
            poster=_hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.4, 0.95)) if rng.random() < 0.5 else None,
            poster_x=float(rng.uniform(-1.5, 1.5)), light_dir=light, ambient=float(rng.uniform(0.45, 0.65)),
        )
