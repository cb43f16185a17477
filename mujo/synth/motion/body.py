"""Body proportions per person and vectorised forward kinematics from joint angles to H36M joint positions."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX, N_JOINTS
from mujo.synth.motion.angles import IDX, N_DOFS


@dataclass(frozen=True)
class Body:
    """Segment lengths of one person in metres (joint centres, as a pose estimator places them)."""

    height: float            # standing height, for reference
    hip_half_width: float    # pelvis centre (Hip) -> each hip joint
    thigh: float             # hip -> knee
    shank: float             # knee -> ankle (the skeleton's "Foot")
    lumbar: float            # Hip -> Spine
    thoracic: float          # Spine -> Thorax
    neck: float              # Thorax -> Neck (nose level)
    neck_forward: float      # how far the Neck point sits in front of the spine line
    head: float              # Neck -> Head (top of the head)
    shoulder_half_width: float  # Thorax -> each shoulder, sideways
    shoulder_drop: float     # shoulders sit this far below the Thorax point
    upper_arm: float         # shoulder -> elbow
    forearm: float           # elbow -> wrist

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "Body":
        """Draw a person: height 1.50-1.95 m, each segment ratio varied within anthropometric ranges.

        Args:
            rng: the only source of randomness.

        Returns:
            A new Body.
        """
        height = float(np.clip(rng.normal(1.72, 0.095), 1.50, 1.95))
        # Broad-shouldered vs narrow, long-legged vs long-trunked: correlated factors plus per-segment noise.
        build = rng.normal(0.0, 1.0)
        legs = rng.normal(0.0, 0.025)

        def seg(ratio: float, sd: float = 0.03) -> float:
            return height * ratio * float(np.clip(1.0 + rng.normal(0.0, sd), 1 - 2.5 * sd, 1 + 2.5 * sd))

        return cls(
            height=height,
            hip_half_width=seg(0.072 * (1 - 0.03 * build), 0.05),
            thigh=seg(0.245 * (1 + legs)),
            shank=seg(0.246 * (1 + legs)),
            lumbar=seg(0.132 * (1 - legs)),
            thoracic=seg(0.142 * (1 - legs)),
            neck=seg(0.088, 0.05),
            neck_forward=seg(0.034, 0.10),
            head=seg(0.066, 0.05),
            shoulder_half_width=seg(0.092 * (1 + 0.04 * build), 0.04),
            shoulder_drop=seg(0.014, 0.15),
            upper_arm=seg(0.160),
            forearm=seg(0.146),
        )

    @classmethod
    def average(cls, height: float = 1.72) -> "Body":
        """The average body of a given height (for tests and rest poses)."""
        r = dict(hip_half_width=0.072, thigh=0.245, shank=0.246, lumbar=0.132, thoracic=0.142, neck=0.088,
                 neck_forward=0.034, head=0.066, shoulder_half_width=0.092, shoulder_drop=0.014, upper_arm=0.160,
                 forearm=0.146)
        return cls(height=height, **{k: v * height for k, v in r.items()})

    def bone_lengths(self) -> dict[str, float]:
        """Segment lengths by field name (everything but height)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "height"}


# --- rotation matrices, vectorised over time ------------------------------------------------------------------

def rot_xzy(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Rx(a) @ Rz(b) @ Ry(c) for arrays of angles (T,) -> (T, 3, 3), in closed form (no per-frame loop)."""
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    out = np.empty(np.shape(a) + (3, 3))
    out[..., 0, 0] = cb * cc
    out[..., 0, 1] = -sb
    out[..., 0, 2] = cb * sc
    out[..., 1, 0] = ca * sb * cc + sa * sc
    out[..., 1, 1] = ca * cb
    out[..., 1, 2] = ca * sb * sc - sa * cc
    out[..., 2, 0] = sa * sb * cc - ca * sc
    out[..., 2, 1] = sa * cb
    out[..., 2, 2] = sa * sb * sc + ca * cc
    return out


def root_rotation(angles: np.ndarray) -> np.ndarray:
    """World rotation of the pelvis (T, 3, 3): Ry(yaw) @ Rx(pitch) @ Rz(-roll)."""
    m = rot_xzy(angles[:, IDX["root_pitch"]], -angles[:, IDX["root_roll"]], np.zeros(len(angles)))
    yaw = angles[:, IDX["root_yaw"]]
    cy, sy = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    out = np.empty_like(m)
    out[:, 0] = cy * m[:, 0] + sy * m[:, 2]
    out[:, 1] = m[:, 1]
    out[:, 2] = -sy * m[:, 0] + cy * m[:, 2]
    return out


def _col(angles: np.ndarray, name: str) -> np.ndarray:
    return angles[:, IDX[name]]


def _limb_local(angles: np.ndarray, side: str, kind: str) -> np.ndarray:
    """Local rotation of a thigh or upper arm: Rx(-flex) Rz(+-abd) Ry(+-rot) (signs mirror left/right)."""
    s = 1.0 if side == "l" else -1.0
    return rot_xzy(-_col(angles, f"{side}_{kind}_flex"), s * _col(angles, f"{side}_{kind}_abd"),
                   s * _col(angles, f"{side}_{kind}_rot"))


def _trunk_local(angles: np.ndarray, part: str) -> np.ndarray:
    return rot_xzy(_col(angles, f"{part}_flex"), -_col(angles, f"{part}_lat"), _col(angles, f"{part}_twist"))


def _apply(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """rot (T, 3, 3) times vec (3,) or (T, 3) -> (T, 3)."""
    if vec.ndim == 1:
        return rot @ vec
    return np.einsum("tij,tj->ti", rot, vec)


@dataclass
class Frames:
    """World rotations of the segments that the IK needs, with the root at the origin."""

    root: np.ndarray        # (T, 3, 3) pelvis
    lumbar: np.ndarray      # (T, 3, 3) Hip -> Spine segment
    chest: np.ndarray       # (T, 3, 3) Spine -> Thorax segment, parent of the neck and shoulders
    spine: np.ndarray       # (T, 3) Spine joint
    thorax: np.ndarray      # (T, 3) Thorax joint
    l_shoulder: np.ndarray  # (T, 3)
    r_shoulder: np.ndarray  # (T, 3)


def trunk_frames(body: Body, angles: np.ndarray) -> Frames:
    """Pelvis and chest rotations and shoulder positions (root at the origin), for limb IK."""
    r_root = root_rotation(angles)
    r_lumbar = r_root @ _trunk_local(angles, "spine")
    r_chest = r_lumbar @ _trunk_local(angles, "chest")
    spine = _apply(r_lumbar, np.array([0.0, body.lumbar, 0.0]))
    thorax = spine + _apply(r_chest, np.array([0.0, body.thoracic, 0.0]))
    sh = []
    for s in (1.0, -1.0):
        e = _col(angles, "l_clav" if s > 0 else "r_clav")
        # the clavicle rotates the Thorax -> shoulder offset (+-w, -drop, 0) about the forward axis
        off = np.stack([s * (body.shoulder_half_width * np.cos(e) + body.shoulder_drop * np.sin(e)),
                        body.shoulder_half_width * np.sin(e) - body.shoulder_drop * np.cos(e),
                        np.zeros_like(e)], axis=1)
        sh.append(thorax + _apply(r_chest, off))
    return Frames(r_root, r_lumbar, r_chest, spine, thorax, sh[0], sh[1])


def forward_kinematics(body: Body, angles: np.ndarray, root_pos: np.ndarray | None = None) -> np.ndarray:
    """Joint positions of the 17-joint H36M skeleton from joint angles.

    Args:
        body: segment lengths.
        angles: (T, D) radians in the order of `angles.DOFS` (root yaw/pitch/roll included).
        root_pos: (T, 3) world position of the Hip joint; None puts it at the origin.

    Returns:
        (T, 17, 3) float64 positions in metres, +y up, in the skeleton's joint order.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 2 or angles.shape[1] != N_DOFS:
        raise ValueError(f"angles must have shape (T, {N_DOFS}), got {angles.shape}")
    n = len(angles)
    out = np.empty((n, N_JOINTS, 3))
    j = JOINT_INDEX
    fr = trunk_frames(body, angles)
    out[:, j["Hip"]] = 0.0
    out[:, j["Spine"]] = fr.spine
    out[:, j["Thorax"]] = fr.thorax
    r_neck = fr.chest @ _trunk_local(angles, "neck")
    out[:, j["Neck"]] = out[:, j["Thorax"]] + _apply(r_neck, np.array([0.0, body.neck, body.neck_forward]))
    out[:, j["Head"]] = out[:, j["Neck"]] + _apply(r_neck, np.array([0.0, body.head, -0.4 * body.neck_forward]))
    for side, s, hip, knee, foot in (("l", 1.0, "LHip", "LKnee", "LFoot"), ("r", -1.0, "RHip", "RKnee", "RFoot")):
        out[:, j[hip]] = _apply(fr.root, np.array([s * body.hip_half_width, 0.0, 0.0]))
        r_thigh = fr.root @ _limb_local(angles, side, "hip")
        out[:, j[knee]] = out[:, j[hip]] + _apply(r_thigh, np.array([0.0, -body.thigh, 0.0]))
        k = _col(angles, f"{side}_knee")  # hinge: the shank swings backward
        shank = np.stack([np.zeros(n), -body.shank * np.cos(k), -body.shank * np.sin(k)], axis=1)
        out[:, j[foot]] = out[:, j[knee]] + _apply(r_thigh, shank)
    for side, sh_pos, sh, elbow, wrist in (("l", fr.l_shoulder, "LShoulder", "LElbow", "LWrist"),
                                          ("r", fr.r_shoulder, "RShoulder", "RElbow", "RWrist")):
        out[:, j[sh]] = sh_pos
        r_upper = fr.chest @ _limb_local(angles, side, "sh")
        out[:, j[elbow]] = sh_pos + _apply(r_upper, np.array([0.0, -body.upper_arm, 0.0]))
        e = _col(angles, f"{side}_elbow")  # hinge: the forearm swings forward
        fore = np.stack([np.zeros(n), -body.forearm * np.cos(e), body.forearm * np.sin(e)], axis=1)
        out[:, j[wrist]] = out[:, j[elbow]] + _apply(r_upper, fore)
    if root_pos is not None:
        out += np.asarray(root_pos, dtype=np.float64)[:, None, :]
    return out


def solve_limb(d: np.ndarray, l1: float, l2: float, hinge_sign: float, rot: np.ndarray,
               abd_pref: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic two-link IK of a left limb in its parent frame (a right limb: mirror d's x first).

    The limb's local rotation is Rx(-flex) Rz(abd) Ry(rot); `rot` is given (it picks the swivel: where the knee or
    elbow points) and flex, abd and the hinge angle are solved so the end lands on `d`. Unreachable targets are
    clamped (straight limb, or the nearest direction the swivel allows).

    Args:
        d: (T, 3) vector from the limb root to the target, in the parent segment's frame.
        l1, l2: upper and lower segment lengths.
        hinge_sign: +1 for an elbow (the forearm swings forward), -1 for a knee (the shank swings back).
        rot: (T,) external rotation in radians.
        abd_pref: abduction the solver stays close to when two solutions exist.

    Returns:
        (flex, abd, hinge) arrays (T,) in radians.
    """
    dist = np.linalg.norm(d, axis=1)
    dist_c = np.clip(dist, abs(l1 - l2) + 1e-6, (l1 + l2) * (1 - 1e-9))
    d = d * (dist_c / np.maximum(dist, 1e-9))[:, None]
    cos_h = np.clip((dist_c ** 2 - l1 ** 2 - l2 ** 2) / (2 * l1 * l2), -1.0, 1.0)
    hinge = np.arccos(cos_h)
    sin_h = np.sin(hinge)
    vx = hinge_sign * l2 * sin_h * np.sin(rot)
    vy = -(l1 + l2 * cos_h)
    vz = hinge_sign * l2 * sin_h * np.cos(rot)
    rho = np.hypot(vx, vy)
    beta = np.arctan2(vy, vx)
    gamma = np.arccos(np.clip(d[:, 0] / np.maximum(rho, 1e-9), -1.0, 1.0))
    a1 = np.angle(np.exp(1j * (gamma - beta)))
    a2 = np.angle(np.exp(1j * (-gamma - beta)))
    abd = np.where(np.abs(a1 - abd_pref) <= np.abs(a2 - abd_pref), a1, a2)
    uy = rho * np.sin(abd + beta)
    flex = np.angle(np.exp(1j * (np.arctan2(vz, uy) - np.arctan2(d[:, 2], d[:, 1]))))
    return flex, abd, hinge


def limb_ik(body: Body, angles: np.ndarray, limb: str, target: np.ndarray) -> None:
    """Set one limb's angles so its end (ankle or wrist) reaches `target`, keeping its external rotation.

    Args:
        body: segment lengths.
        angles: (T, D) radians, modified in place.
        limb: "l_leg", "r_leg", "l_arm" or "r_arm".
        target: (T, 3) or (3,) position in the frame where the root sits at the origin (as forward_kinematics with
            root_pos=None places joints).
    """
    side, kind = limb.split("_")
    s = 1.0 if side == "l" else -1.0
    target = np.broadcast_to(np.asarray(target, dtype=np.float64), (len(angles), 3))
    if kind == "leg":
        parent = root_rotation(angles)
        base = _apply(parent, np.array([s * body.hip_half_width, 0.0, 0.0]))
        l1, l2, hs, prefix, hinge_name = body.thigh, body.shank, -1.0, f"{side}_hip", f"{side}_knee"
    elif kind == "arm":
        fr = trunk_frames(body, angles)
        parent, base = fr.chest, (fr.l_shoulder if side == "l" else fr.r_shoulder)
        l1, l2, hs, prefix, hinge_name = body.upper_arm, body.forearm, 1.0, f"{side}_sh", f"{side}_elbow"
    else:
        raise ValueError(f"limb must be l_leg, r_leg, l_arm or r_arm, got {limb!r}")
    d = np.einsum("tji,tj->ti", parent, target - base)  # into the parent frame
    d[:, 0] *= s  # a right limb is solved as the mirrored left one
    flex, abd, hinge = solve_limb(d, l1, l2, hs, angles[:, IDX[prefix + "_rot"]], angles[:, IDX[prefix + "_abd"]])
    angles[:, IDX[prefix + "_flex"]] = flex
    angles[:, IDX[prefix + "_abd"]] = abd
    angles[:, IDX[hinge_name]] = hinge
