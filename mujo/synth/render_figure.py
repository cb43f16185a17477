"""The trainer's figure: shaded capsules and polygons around the joints, a soft floor shadow, painter's order."""

from __future__ import annotations

import cv2
import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.render_setup import Appearance, Camera

__all__ = ["figure_geometry", "draw_figure", "fixed_point", "SHIFT"]

SHIFT = 4  # cv2 sub-pixel bits: polygon coordinates are in 1/16 px
_K = 6  # outline points per half circle
_HALF = np.linspace(-np.pi / 2, np.pi / 2, _K)
_FULL = np.linspace(0, 2 * np.pi, 2 * _K, endpoint=False)
_PART_KEYS = {  # points whose mean depth orders the parts (painter's algorithm)
    "torso": ("Hip", "Spine", "Thorax"), "head": ("head_c",),
    **{s + "UpperArm": (s + "Shoulder", s + "Elbow") for s in "LR"},
    **{s + "Forearm": (s + "Elbow", s + "Wrist", s + "Hand") for s in "LR"},
    **{s + "Thigh": (s + "Hip", s + "Knee") for s in "LR"},
    **{s + "Shin": (s + "Knee", s + "Foot", s + "Toe") for s in "LR"},
}
_TORSO_BIAS_M = 0.1  # the torso's surface is nearer than its joints: limbs beside it are drawn over it


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def fixed_point(p: np.ndarray, W: int, H: int) -> np.ndarray:
    """Pixel coordinates -> cv2 fixed point int32 (1/16 px), clipped far outside the image, NaN -> 0."""
    p = np.clip(np.nan_to_num(p, nan=0.0), -4 * max(W, H), 5 * max(W, H))
    return np.round(p * (1 << SHIFT)).astype(np.int32)


def _capsules(a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Outlines of tapered capsules: ends a, b (..., 2) px and radii (...,) px -> (..., 2K, 2) convex polygons."""
    d = b - a
    length = np.linalg.norm(d, axis=-1)
    rb = ra + np.clip(rb - ra, -length, length)  # stays convex when the segment is foreshortened
    theta = np.arctan2(d[..., 1], d[..., 0])[..., None]
    ang = np.concatenate([theta + _HALF, theta + _HALF + np.pi], axis=-1)  # (..., 2K)
    ends = np.concatenate([np.repeat(b[..., None, :], _K, -2), np.repeat(a[..., None, :], _K, -2)], axis=-2)
    radius = np.concatenate([np.repeat(rb[..., None], _K, -1), np.repeat(ra[..., None], _K, -1)], axis=-1)
    return ends + radius[..., None] * np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def _body_points(P: np.ndarray, app: Appearance) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Joints plus derived surface points (shirt corners, head centre, hands, feet), each (n, 3); and forward."""
    th = app.thickness
    g = {name: P[:, i] for name, i in JOINT_INDEX.items()}
    left_s, left_h = _unit(g["LShoulder"] - g["RShoulder"]), _unit(g["LHip"] - g["RHip"])
    up_t = _unit(g["Thorax"] - g["Hip"])
    fwd = _unit(np.cross(left_s + left_h, up_t))  # left x up = forward (right-handed, +y up)
    waist = 0.45 * (g["Spine"] - g["Hip"])
    g.update(LSo=g["LShoulder"] + 0.05 * th * left_s, RSo=g["RShoulder"] - 0.05 * th * left_s,
             LWa=g["LHip"] + waist + 0.02 * th * left_h, RWa=g["RHip"] + waist - 0.02 * th * left_h,
             LHo=g["LHip"] + 0.035 * th * left_h, RHo=g["RHip"] - 0.035 * th * left_h,
             chest_lo=g["Hip"] + 0.5 * (g["Spine"] - g["Hip"]), chest_hi=g["Thorax"] - 0.05 * up_t,
             head_c=0.5 * (g["Neck"] + g["Head"]))  # H36M: Neck is at the nose, Head at the crown
    g["head_f"] = g["head_c"] + 0.1 * fwd
    g["head_u"] = g["head_c"] + 0.1 * _unit(g["Head"] - g["Neck"])
    sleeve = {"none": 0.0, "short": 0.45, "long": 1.0}[app.sleeves]
    for s in "LR":
        sh, el, wr, ft = g[s + "Shoulder"], g[s + "Elbow"], g[s + "Wrist"], g[s + "Foot"]
        g[s + "Sleeve"] = sh + max(sleeve, 0.01) * (el - sh)
        g[s + "Hand"] = wr + 0.085 * _unit(wr - el)
        shin = _unit(ft - g[s + "Knee"])
        toe = _unit(fwd - _dot(fwd, shin)[:, None] * shin)  # toes point forward, across the shin
        g[s + "Heel"] = ft + 0.04 * shin - 0.03 * toe
        g[s + "Toe"] = ft + 0.06 * shin + 0.14 * toe
    return g, fwd


def _primitives(app: Appearance) -> list[tuple]:
    """(kind, part, a, b, radius_a_m, radius_b_m, rgb, two_tone) in drawing order within each part."""
    th, skin, shirt, pants = app.thickness, app.skin, app.shirt, app.pants
    arm = shirt if app.sleeves == "long" else skin
    prims = [
        ("cap", "torso", "LHip", "RHip", .095 * th, .095 * th, pants, False),
        ("poly", "torso", ("LWa", "RWa", "RHo", "LHo"), None, 0, 0, pants, False),
        ("cap", "torso", "chest_lo", "chest_hi", .115 * th, .115 * th, shirt, False),
        ("poly", "torso", ("LSo", "RSo", "RWa", "LWa"), None, 0, 0, shirt, False),
        ("cap", "torso", "LShoulder", "LShoulder", .06 * th, .06 * th, shirt, False),
        ("cap", "torso", "RShoulder", "RShoulder", .06 * th, .06 * th, shirt, False),
        ("cap", "torso", "Thorax", "head_c", .05 * th, .05 * th, skin, False),  # neck
        ("cap", "head", "head_c", "head_c", .105, .105, app.hair, False),
        ("face", "head", "head_c", "head_c", .105, .105, skin, False),
    ]
    for s in "LR":
        prims.append(("cap", s + "UpperArm", s + "Shoulder", s + "Elbow", .055 * th, .045 * th, arm, True))
        if app.sleeves == "short":
            prims.append(("cap", s + "UpperArm", s + "Shoulder", s + "Sleeve", .063 * th, .056 * th, shirt, False))
        prims += [("cap", s + "Forearm", s + "Elbow", s + "Wrist", .045 * th, .034 * th, arm, True),
                  ("cap", s + "Forearm", s + "Wrist", s + "Hand", .038 * th, .032 * th, skin, False),
                  ("cap", s + "Thigh", s + "Hip", s + "Knee", .085 * th, .06 * th, pants, True),
                  ("cap", s + "Shin", s + "Knee", s + "Foot", .058 * th, .042 * th, skin if app.shorts else pants,
                   True),
                  ("cap", s + "Shin", s + "Heel", s + "Toe", .045 * th, .038 * th, app.shoes, False)]
    return prims


def figure_geometry(P: np.ndarray, cam: Camera, app: Appearance, floor: float) -> dict:
    """Everything `draw_figure` needs for n frames, computed vectorised: P (n, 17, 3) -> polygons, colours..."""
    W, H = cam.width, cam.height
    g, fwd = _body_points(P, app)
    names = list(g)
    at = {k: i for i, k in enumerate(names)}
    X = np.stack([g[k] for k in names], axis=1)  # (n, M, 3)
    L = np.asarray(app.light_dir, float)
    lift = np.maximum(X[..., 1] - floor, 0.0) / max(L[1], 0.2)
    uv, depth = cam.project(np.concatenate([X, X - lift[..., None] * L], axis=1))  # (n, 2M, 2) with shadows
    f, M, amb, eye = cam.focal_px, len(names), app.ambient, np.asarray(cam.position, float)
    l2 = (cam.rotation @ L)[:2]  # towards the light in the image (x right, y down)
    l2 = l2 / max(np.linalg.norm(l2), 1e-9)

    polys, colours, parts, shadows = [], [], [], []

    def emit(outline, part, rgb, factor):
        polys.append(outline)
        colours.append(np.asarray(rgb, float) * factor[:, None])
        parts.append(part)

    def lit(axis, mid):  # Lambert term of the surface facing the camera, for a cylinder along axis
        to_eye = _unit(eye - mid)
        return np.clip(_dot(_unit(to_eye - _dot(to_eye, axis)[:, None] * axis), L), 0, 1)

    for kind, part, a, b, ra, rb, rgb, two_tone in _primitives(app):
        if kind == "poly":
            idx = [at[k] for k in a]
            outline = uv[:, idx + [idx[-1]] * (2 * _K - len(idx))]  # padded by repeating the last corner
            emit(outline, part, rgb, amb + (1 - amb) * (0.2 + 0.6 * lit(_unit(g["Thorax"] - g["Hip"]), g["Spine"])))
            continue
        ia, ib = at[a], at[b]
        A, B = X[:, ia], X[:, ib]
        a2, b2, ra_px, rb_px = uv[:, ia], uv[:, ib], f * ra / depth[:, ia], f * rb / depth[:, ib]
        axis = _unit(B - A)
        lam = lit(axis, 0.5 * (A + B))
        if kind == "face":
            emit(_face(uv[:, at["head_f"]], uv[:, at["head_u"]], a2, ra_px, f * 0.1 / depth[:, ia]), part, rgb,
                 amb + (1 - amb) * (0.2 + 0.6 * lam))
            facing = _dot(fwd, _unit(eye - A))
            polys[-1][facing < -0.2] = np.nan  # the back of the head: hair only
            continue
        shadows.append(_capsules(uv[:, M + ia], uv[:, M + ib], f * ra / depth[:, M + ia], f * rb / depth[:, M + ib]))
        if not two_tone:
            emit(_capsules(a2, b2, ra_px, rb_px), part, rgb, amb + (1 - amb) * (0.2 + 0.6 * lam))
            continue
        emit(_capsules(a2, b2, ra_px, rb_px), part, rgb, 0.85 * amb + 0.45 * (1 - amb) * lam)
        s3 = np.sqrt(np.clip(1 - _dot(axis, L) ** 2, 0, 1))  # brightest point of a cylinder
        d2 = b2 - a2
        d2n = np.linalg.norm(d2, axis=-1, keepdims=True)
        nrm = np.where(d2n > 1e-6, np.stack([-d2[:, 1], d2[:, 0]], -1) / np.maximum(d2n, 1e-9), l2)
        off = (0.38 * _dot(nrm, l2) * 0.5 * (ra_px + rb_px))[:, None] * nrm  # highlight towards the light
        emit(_capsules(a2 + off, b2 + off, 0.55 * ra_px, 0.55 * rb_px), part, rgb,
             amb + (1 - amb) * s3 * (0.35 + 0.65 * lam))

    poly = np.stack(polys, axis=1)  # (n, N, 2K, 2)
    visible = np.isfinite(poly).all(axis=(2, 3))
    part_names = list(_PART_KEYS)
    part_depth = np.stack([np.mean([depth[:, at[k]] for k in _PART_KEYS[p]], axis=0) for p in part_names], 1)
    part_depth[:, 0] += _TORSO_BIAS_M
    rank = np.argsort(np.argsort(-part_depth, axis=1), axis=1)  # 0 = farthest = drawn first
    key = rank[:, [part_names.index(p) for p in parts]] * 64 + np.arange(len(parts))
    shadow = np.stack(shadows, axis=1)  # (n, S, 2K, 2)
    blur = 2 * max(1, round(W / 80)) + 1
    with np.errstate(invalid="ignore"):
        lo = np.nan_to_num(np.nanmin(shadow, axis=(1, 2)), nan=0.0) - blur
        hi = np.nan_to_num(np.nanmax(shadow, axis=(1, 2)), nan=-1.0) + blur
    box = np.concatenate([np.clip(np.floor(lo), 0, [W, H]), np.clip(np.ceil(hi), 0, [W, H])], 1).astype(int)
    return {
        "polys": fixed_point(poly, W, H), "visible": visible.tolist(), "order": np.argsort(key, axis=1).tolist(),
        "colours": np.clip(np.stack(colours, axis=1), 0, 255).tolist(),
        "shadow": fixed_point(shadow - box[:, None, None, :2], W, H), "shadow_box": box.tolist(), "blur": blur,
        "shadow_strength": int(256 * (0.75 - 0.5 * amb)),
    }


def _face(head_f: np.ndarray, head_u: np.ndarray, c2: np.ndarray, r: np.ndarray, px_per_dm: np.ndarray) -> np.ndarray:
    """The face as a skin ellipse inside the head circle, shifted towards where the face points: (n, 2K, 2)."""
    fd = (head_f - c2) / px_per_dm[:, None]  # the forward direction seen in the image, length <= ~1
    m = np.clip(np.linalg.norm(fd, axis=-1), 0, 1)
    dirn = np.where(m[:, None] > 1e-3, _unit(fd), [1.0, 0.0])
    perp = np.stack([-dirn[:, 1], dirn[:, 0]], -1)
    centre = c2 + dirn * (0.42 * m * r)[:, None] - _unit(head_u - c2) * (0.12 * r)[:, None]  # hair on top
    ax, ay = 0.78 * r * (1 - 0.45 * m), 0.78 * r
    return (centre[:, None] + (ax[:, None] * np.cos(_FULL))[..., None] * dirn[:, None]
            + (ay[:, None] * np.sin(_FULL))[..., None] * perp[:, None])


def draw_figure(img: np.ndarray, geo: dict, i: int) -> None:
    """Draw frame i of the precomputed geometry: soft shadow first, then the primitives back to front."""
    x0, y0, x1, y1 = geo["shadow_box"][i]
    if x1 > x0 and y1 > y0:
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for poly in geo["shadow"][i]:
            cv2.fillConvexPoly(mask, poly, 255, cv2.LINE_8, SHIFT)
        k = geo["blur"]
        mask = cv2.blur(mask, (k, k))
        roi = img[y0:y1, x0:x1]
        keep = 255 - ((mask.astype(np.uint16) * geo["shadow_strength"]) >> 8)  # (h, w) 0..255
        roi[:] = (roi.astype(np.uint16) * keep[:, :, None] >> 8).astype(np.uint8)
    polys, colours, visible = geo["polys"][i], geo["colours"][i], geo["visible"][i]
    for j in geo["order"][i]:
        if visible[j]:
            cv2.fillConvexPoly(img, polys[j], colours[j], cv2.LINE_AA, SHIFT)
