"""Vectorised 3D rotation helpers in a components-first layout, fast on millions of small matrices."""

from __future__ import annotations

import math

import numpy as np

# Vectors are (3, ...) arrays and matrices (3, 3, ...) arrays, m[i, j] = row i, column j, time usually last:
# every operation is a handful of element-wise operations on long contiguous arrays, several times faster than
# numpy's stacked 3x3 products, and results are written into preallocated arrays (fewer large temporaries).

_EPS = 1e-12


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products of (3, ...) vectors -> (...)."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross products of (3, ...) vectors -> (3, ...)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]
    return out


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit (3, ...) vectors; zero vectors stay zero instead of becoming NaN."""
    return v / np.maximum(np.sqrt(dot(v, v)), _EPS)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Products of (3, 3, ...) matrices, broadcast over the trailing axes."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    for i in range(3):
        for j in range(3):
            out[i, j] = a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j]
    return out


def matvec(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R v for (3, 3, ...) matrices and (3, ...) vectors: a frame's vector expressed in world coordinates."""
    out = np.empty(np.broadcast_shapes(r.shape[1:], v.shape), np.result_type(r, v))
    for i in range(3):
        out[i] = r[i, 0] * v[0] + r[i, 1] * v[1] + r[i, 2] * v[2]
    return out


def apply_transpose(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rᵀ v for (3, 3, ...) matrices and (3, ...) vectors: a world vector expressed in the frame R."""
    out = np.empty(np.broadcast_shapes(r.shape[1:], v.shape), np.result_type(r, v))
    for j in range(3):
        out[j] = dot(r[:, j], v)
    return out


def frame_from_axes(primary: np.ndarray, secondary: np.ndarray, order: str) -> np.ndarray:
    """Right-handed orthonormal frames from two non-parallel (3, ...) directions (Gram-Schmidt).

    Args:
        primary: (3, ...) direction kept exactly.
        secondary: (3, ...) direction made orthogonal to `primary`.
        order: "xy" if primary is the x axis and secondary the y axis, "yx" for the reverse.

    Returns:
        (3, 3, ...) rotation matrices whose columns are the frame's x, y, z axes in world coordinates.
    """
    p = normalize(primary)
    s = normalize(secondary - dot(secondary, p) * p)
    if order == "xy":
        x, y = p, s
    elif order == "yx":
        x, y = s, p
    else:
        raise ValueError(f"order must be 'xy' or 'yx', got {order!r}")
    out = np.empty((3,) + p.shape, p.dtype)
    out[:, 0], out[:, 1], out[:, 2] = x, y, cross(x, y)
    return out


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The minimal rotation taking unit vectors a to unit vectors b (Rodrigues), broadcast over trailing axes.

    R = c I + [v]x + v vᵀ / (1 + c) with v = a × b and c = a · b: smooth everywhere except at b = -a, where
    the axis is undefined (callers choose `a` so that -a never occurs).

    Args:
        a: (3, ...) unit vectors.
        b: (3, ...) unit vectors.

    Returns:
        (3, 3, ...) rotation matrices with R a = b.
    """
    v = cross(a, b)
    c = dot(a, b)
    k = 1.0 / np.maximum(1.0 + c, 1e-9)
    out = np.empty((3,) + v.shape, v.dtype)
    kv = k * v
    for i in range(3):
        for j in range(3):
            out[i, j] = kv[i] * v[j]
        out[i, i] += c
    out[0, 1] -= v[2]
    out[0, 2] += v[1]
    out[1, 0] += v[2]
    out[1, 2] -= v[0]
    out[2, 0] -= v[1]
    out[2, 1] += v[0]
    return out


def swing_apply(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """swing(a, b) @ u without forming the matrices: c u + v × u + v (v · u) / (1 + c), v = a × b, c = a · b."""
    v = cross(a, b)
    c = dot(a, b)
    return c * u + cross(v, u) + v * (dot(v, u) / np.maximum(1.0 + c, 1e-9))


def rotvec_from_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation vectors (axis times angle, radians) of (3, 3, ...) rotation matrices with angles below π.

    Uses the skew part (sin θ times the axis) and the trace (cos θ), so small angles stay accurate.
    """
    v = np.empty(r.shape[1:], r.dtype)  # sin θ · axis
    v[0] = 0.5 * (r[2, 1] - r[1, 2])
    v[1] = 0.5 * (r[0, 2] - r[2, 0])
    v[2] = 0.5 * (r[1, 0] - r[0, 1])
    s = np.sqrt(dot(v, v))
    c = 0.5 * (r[0, 0] + r[1, 1] + r[2, 2] - 1.0)
    theta = np.arctan2(s, c)
    return v * np.where(s > 1e-9, theta / np.maximum(s, 1e-9), 1.0)  # θ / sin θ -> 1 as θ -> 0


def angular_velocity(r: np.ndarray, fps: float) -> np.ndarray:
    """Body-frame angular velocity of rotation sequences along the last axis (time).

    ω(t) = log(R(t-1)ᵀ R(t+1)) / (2 Δt), one-sided at the two ends.

    Args:
        r: (3, 3, ..., T) rotation matrices, T >= 2.
        fps: samples per second.

    Returns:
        (3, ..., T) angular velocity in rad/s, expressed in the rotating frame.
    """
    out = np.empty(r.shape[1:], r.dtype)
    rt = r.swapaxes(0, 1)  # Rᵀ as a view
    out[..., 1:-1] = rotvec_from_matrix(matmul(rt[..., :-2], r[..., 2:])) * (0.5 * fps)
    out[..., [0, -1]] = rotvec_from_matrix(matmul(rt[..., [0, -2]], r[..., [1, -1]])) * fps
    return out


def wrapped_leaky_sum(u: np.ndarray, eps: float, block: int | None = None) -> np.ndarray:
    """psi_t = psi_(t-1) + u_t - eps sin(psi_(t-1)) along the last axis: a running sum of angle steps that
    leaks back toward the nearest multiple of 2π (so steady winding costs nothing), psi_(-1) = 0.

    Vectorised with the leak's phase frozen over blocks of `block` samples (its change there is at most
    eps * block): psi = phi - c with phi = cumsum(u) and c_t = c_(t-1) + eps sin(phi_(t-1) - c_(t-1)), where
    sin(phi - c) = sin(phi) cos(c) - cos(phi) sin(c) needs only block sums of sin(phi) and cos(phi); the
    Python loop runs over blocks, not samples.

    Args:
        u: (..., T) angle steps, radians.
        eps: leak per sample (dt / time constant), small.
        block: samples per block (default: the leak phase moves at most 0.25 rad within a block).

    Returns:
        (..., T) float64 angles.
    """
    if not 0.0 <= eps < 0.5:
        raise ValueError(f"the leak per sample must be in [0, 0.5), got {eps}")
    phi = np.cumsum(u, axis=-1, dtype=np.float64)
    if eps == 0.0:
        return phi
    t = phi.shape[-1]
    block = block or max(1, int(0.25 / eps))
    n_blocks = -(-t // block)
    prev = np.concatenate([np.zeros(phi.shape[:-1] + (1,)), phi[..., :-1]], axis=-1)  # phi_(t-1)
    pad = n_blocks * block - t
    prev = np.pad(prev, [(0, 0)] * (phi.ndim - 1) + [(0, pad)]).reshape(phi.shape[:-1] + (n_blocks, block))
    prev = prev.astype(np.float32)  # float32 sin/cos are several times faster; the leak is a small correction
    s, co = np.sin(prev), np.cos(prev)
    if pad:  # padded samples must not feed the leak
        s[..., -1, block - pad:] = 0.0
        co[..., -1, block - pad:] = 0.0
    s_in = np.cumsum(s, axis=-1)  # inclusive sums within each block
    c_in = np.cumsum(co, axis=-1)
    # the leak phase at each block start, sequentially (plain floats: a handful of series, few blocks)
    tot_s = (eps * s_in[..., -1]).reshape(-1, n_blocks).tolist()
    tot_c = (eps * c_in[..., -1]).reshape(-1, n_blocks).tolist()
    starts = []
    for row_s, row_c in zip(tot_s, tot_c):
        c, row = 0.0, []
        for a, b in zip(row_s, row_c):
            row.append(c)
            c += math.cos(c) * a - math.sin(c) * b
        starts.append(row)
    start = np.array(starts).reshape(phi.shape[:-1] + (n_blocks,))
    cs, sn = np.cos(start)[..., None], np.sin(start)[..., None]
    leak = start[..., None] + eps * (cs * s_in - sn * c_in)  # c_t inside each block
    return phi - leak.reshape(phi.shape[:-1] + (-1,))[..., :t]
