"""Safety: every joint target passes these checks before it leaves the host (sim or hardware).

1. finite numbers only (a NaN/inf target raises ``UnsafeTarget`` and nothing is sent);
2. joint limits (clamp);
3. max change per tick relative to the current joint position (clamp);
4. floor keep-out: the end effector at the target must stay at or above ``floor_z_m``; otherwise the arm
   joints move only as far toward the target as keeps it there (halving the step, then holding).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from robokit.core.kinematics import Kinematics
from robokit.core.robot_spec import RobotSpec

# margin on the FK-free floor test: PyBullet's FK and Jacobian are accurate to ~1e-7 m (float32 link
# transforms), so the bound may exceed the FK's height by that much on sub-micro-radian steps
FLOOR_SLACK_M = 1e-6


class UnsafeTarget(ValueError):
    """A target that must never reach a motor (NaN/inf, wrong shape)."""


@dataclass(frozen=True)
class SafetySettings:
    """Limits in joint units (rad / m); max_target_step per tick; floor_z_m in the base frame."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    max_target_step: float
    floor_z_m: float

    @classmethod
    def from_spec(cls, spec: RobotSpec) -> SafetySettings:
        return cls(tuple(spec.lower), tuple(spec.upper), spec.max_target_step, spec.floor_z_m)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SafetySettings:
        return cls(tuple(d["lower"]), tuple(d["upper"]), float(d["max_target_step"]), float(d["floor_z_m"]))


def tightened(
    own: SafetySettings, requested: SafetySettings | dict | None
) -> tuple[SafetySettings, list[str]]:
    """The envelope to enforce: ``own`` (the robot's: its RobotSpec and calibration) narrowed by
    ``requested`` (e.g. a policy file's recorded settings), never widened.

    Per field the stricter value wins: joint limits intersect, the smaller max_target_step and the higher
    floor_z_m apply. Returns (settings, notes): one note per field where ``requested`` asked for a wider
    envelope (ignored) or a narrower one (applied). Raises ValueError if ``requested`` is malformed
    (wrong lengths, non-finite numbers) or leaves a joint no range at all.
    """
    if requested is None:
        return own, []
    try:
        req = requested if isinstance(requested, SafetySettings) else SafetySettings.from_dict(requested)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"safety settings are malformed ({type(exc).__name__}: {exc})") from None
    n = len(own.lower)
    if len(req.lower) != n or len(req.upper) != n:
        raise ValueError(
            f"safety settings give {len(req.lower)}/{len(req.upper)} joint limits, the arm has {n}"
        )
    values = [*req.lower, *req.upper, req.max_target_step, req.floor_z_m]
    if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
        raise ValueError("safety settings contain a value that is not a finite number")
    lower = tuple(max(a, b) for a, b in zip(own.lower, req.lower))
    upper = tuple(min(a, b) for a, b in zip(own.upper, req.upper))
    empty = [i for i in range(n) if lower[i] >= upper[i]]
    if empty:
        raise ValueError(f"safety settings leave joint(s) {empty} no range inside the arm's own limits")
    out = SafetySettings(
        lower, upper, min(own.max_target_step, req.max_target_step), max(own.floor_z_m, req.floor_z_m)
    )
    notes = []
    for name, wider, narrower in (
        (
            "lower",
            any(r < o for r, o in zip(req.lower, own.lower)),
            any(r > o for r, o in zip(req.lower, own.lower)),
        ),
        (
            "upper",
            any(r > o for r, o in zip(req.upper, own.upper)),
            any(r < o for r, o in zip(req.upper, own.upper)),
        ),
        (
            "max_target_step",
            req.max_target_step > own.max_target_step,
            req.max_target_step < own.max_target_step,
        ),
        ("floor_z_m", req.floor_z_m < own.floor_z_m, req.floor_z_m > own.floor_z_m),
    ):
        if wider:
            notes.append(f"{name}: wider than the arm's own, ignored (the arm's applies)")
        if narrower:
            notes.append(f"{name}: narrower than the arm's own, applied")
    return out, notes


class Safety:
    """Applies SafetySettings to joint targets; counts what it changed."""

    def __init__(self, settings: SafetySettings, kinematics: Kinematics) -> None:
        self.settings = settings
        self.kin = kinematics
        self._lower = np.asarray(settings.lower, dtype=np.float64)
        self._upper = np.asarray(settings.upper, dtype=np.float64)
        self._arm = np.asarray(kinematics.spec.arm_indices)
        self._lower_l, self._upper_l = list(settings.lower), list(settings.upper)
        self.counts = {"limit": 0, "step": 0, "floor": 0}
        self._last_safe: np.ndarray | None = None  # the last target that passed the floor check

    def apply(self, q_target: np.ndarray, q_now: np.ndarray) -> np.ndarray:
        """Safe target (n_joints,) for q_target given the current joint positions q_now."""
        q_target = np.asarray(q_target, dtype=np.float64)
        if q_target.shape != self._lower.shape:
            raise UnsafeTarget(f"target has shape {q_target.shape}, expected {self._lower.shape}")
        q_now = np.asarray(q_now, dtype=np.float64)
        # fast path: a target already inside both the limits and the step box passes unchanged
        # (NaN fails every comparison, so NaN/inf take the full path below; Python floats: cheaper
        # than numpy calls at this size, same IEEE arithmetic)
        step = self.settings.max_target_step
        if all(
            lo <= t <= hi and n - step <= t <= n + step
            for t, n, lo, hi in zip(q_target.tolist(), q_now.tolist(), self._lower_l, self._upper_l)
        ):
            return self._keep_above_floor(q_target, q_now)
        return self._clamp(q_target, q_now)

    def _clamp(self, q_target: np.ndarray, q_now: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(q_target)):
            raise UnsafeTarget(f"non-finite joint target {q_target.tolist()}; nothing was sent")
        out = np.minimum(np.maximum(q_target, self._lower), self._upper)
        if (out != q_target).any():
            self.counts["limit"] += 1
        step = self.settings.max_target_step
        stepped = np.minimum(np.maximum(out, q_now - step), q_now + step)
        if (stepped != out).any():
            self.counts["step"] += 1
            stepped = np.minimum(np.maximum(stepped, self._lower), self._upper)
        return self._keep_above_floor(stepped, q_now)

    def _above_floor(self, q_target: np.ndarray, q_now: np.ndarray) -> bool:
        """Is the end effector at q_target at or above the floor? A cheap sufficient test first: a lower
        bound on its height from q_now's FK (cached within a tick); the FK of q_target only if needed."""
        floor = self.settings.floor_z_m
        if self.kin.ee_z_lower_bound_m(q_now, q_target) >= floor + FLOOR_SLACK_M:
            return True
        return self.kin.fk(q_target)[2] >= floor

    def _keep_above_floor(self, q_target: np.ndarray, q_now: np.ndarray) -> np.ndarray:
        """q_target if the tip stays at or above the floor there; else the arm joints move half or a quarter
        of the way, or hold. Holding is at the last target that passed (not at q_now: an arm that overshot
        or sagged below the floor would otherwise be told to stay there, and sink tick by tick); a target
        that raises a tip already below the floor passes. The result is always inside the joint limits."""
        if self._above_floor(q_target, q_now):
            self._last_safe = q_target
            return q_target
        self.counts["floor"] += 1
        floor = self.settings.floor_z_m
        z_now = self.kin.fk(q_now)[2]
        if z_now < floor and self.kin.fk(q_target)[2] > z_now:  # below already: moving up is the way out
            return q_target
        out = q_target.copy()
        for frac in (0.5, 0.25):
            out[self._arm] = q_now[self._arm] + frac * (q_target[self._arm] - q_now[self._arm])
            out = np.minimum(np.maximum(out, self._lower), self._upper)
            if self.kin.fk(out)[2] >= floor:  # near the floor: the bound would not pass
                self._last_safe = out
                return out
        step = self.settings.max_target_step
        hold = (
            q_now
            if self._last_safe is None
            else np.minimum(np.maximum(self._last_safe, q_now - step), q_now + step)
        )
        out[self._arm] = hold[self._arm]
        return np.minimum(np.maximum(out, self._lower), self._upper)

    def reset(self) -> None:
        """Forget the last safe target (a new episode or run starts from wherever the arm is)."""
        self._last_safe = None
