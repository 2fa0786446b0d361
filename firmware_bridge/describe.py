"""What an arm running the robokit firmware does now, in one plain line (``robokit arm status``)."""

from __future__ import annotations

import numpy as np


def describe_state(state, info) -> str:
    """One plain line saying what the arm does now, from STATE's flags (ArmState) and the watchdog
    settings in INFO: e-stop latched, released (by the watchdog or not), holding (watchdog tripped,
    pulses on) or enabled (holding still or moving to its targets)."""
    from robokit.firmware_bridge.protocol import WATCHDOG_RELEASE

    timeout, releases = info.watchdog_timeout_ms, info.watchdog_action == WATCHDOG_RELEASE
    silent = f"the host was silent for {timeout} ms"
    if state.estop_latched:
        return "e-stop latched: no pulses (servos limp); `robokit arm clear`, then `robokit arm enable`"
    if state.watchdog_tripped and state.released:
        by = " and released the arm" if releases else ""
        return f"released: no pulses; the watchdog tripped ({silent}){by}; `robokit arm clear`, then `robokit arm enable`"
    if state.watchdog_tripped:
        return (
            f"holding: the watchdog tripped ({silent}); pulses on at the last setpoints, targets ignored "
            "until `robokit arm clear`"
        )
    if state.released:
        return (
            "released: no pulses (servos limp); `robokit arm enable` resumes them at the last setpoints "
            "(home after power-on) and slews home"
        )
    targets = np.asarray(state.extra.get("targets", state.q), dtype=np.float64)
    motion = "holding still" if np.allclose(targets, state.q, atol=1e-9) else "moving to its targets"
    if timeout == 0:
        watchdog = "its watchdog is off"
    else:
        then = "releases" if releases else "holds"
        watchdog = f"its watchdog trips {timeout} ms after the host goes silent and then {then}"
    return f"enabled: pulses on, {motion}; {watchdog}"
