"""Calibrate an arm on a Feetech bus (the SO-101; ``robokit arm calibrate --robot so101``): homing offsets
that always fit the servo's field, directions measured, ranges recorded while the user moves the joints,
written to the servos' EEPROM (unlock, write, lock) and returned as a BusCalibration for the file.

The steps (docs/hardware.md, SO-101 calibration), each started by ``ask(prompt)`` returning once the user
is ready (the CLI waits for Enter; tests move a scripted hand on the virtual bus):

0. every servo's Homing_Offset and position limits are read (nothing is changed before), and the user is
   asked to hold the arm;
1. torque off; every servo's Homing_Offset 0 and position limits 0..4095, so it reads its raw encoder;
2. the zero pose (docs/so101.md): each joint's Homing_Offset = raw - 2048, so the pose reads 2048. The
   one offset the field cannot hold (raw 0: -2048) is avoided by reading that pose as 2047;
3. per joint, a small move in its positive direction (the robot folder's ``bus.positive``): the sign of
   the change is the joint's ``drive_mode`` (a joint mounted the other way round is recorded so, noted);
4. every joint through its whole range until ``done()``: the readings are followed across the 0/4095
   seam (unwrapped); a range that would cross it is moved inside the turn by shifting that joint's zero
   counts and offset (the wrist_roll's 340 deg usually need it when the zero pose is off); a joint that
   turned a whole turn or more cannot be measured by the servo and is refused (CalibrationError);
5. Homing_Offset and the ranges as position limits to EEPROM, then the EEPROM is locked again.

A calibration stopped after step 0 in any way (Ctrl-C, end of input, a CalibrationError, a servo error)
writes step 0's values back (unlock, write, lock, read back), so the arm keeps the calibration its file
says; the torque stays off (switching it on could move a joint the user is holding). ``eeprom_note(exc)``
says what the EEPROM holds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import numpy as np

from robokit.core.signals import signals_held
from robokit.firmware_bridge.feetech.bus import FeetechBus
from robokit.firmware_bridge.feetech.calibration import (
    OFFSET_LIMIT,
    BusCalibration,
    CalibrationError,
    JointCalibration,
    homing_offset,
)
from robokit.firmware_bridge.feetech.control_table import COUNTS_PER_TURN, MIDDLE_COUNTS, turn_delta
from robokit.robots import robot_folder

KEPT = ("Homing_Offset", "Min_Position_Limit", "Max_Position_Limit")  # read first, put back if stopped
MIN_MOVE_COUNTS = 40  # ~3.5 deg: a direction step smaller than this is "did not move"
SAMPLE_PERIOD_S = 0.02

__all__ = ["calibrate_bus_arm", "eeprom_note"]


def calibrate_bus_arm(
    bus: FeetechBus,
    robot: str,
    ask: Callable[[str], None],
    done: Callable[[], bool],
    say: Callable[[str], None] = lambda _: None,
) -> BusCalibration:
    """Run the steps above on an open ``bus`` for ``robot``; returns the calibration (not yet in a file).
    ``ask(prompt)`` returns when the user has done what it says; ``done()`` ends the range recording;
    ``say(line)`` reports notes. Raises CalibrationError, ServoNotAnswering, or whatever ``ask`` raises
    (KeyboardInterrupt, EOFError). Every servo's Homing_Offset and position limits are read before anything
    is changed; on any way out that is not success they are written back (``eeprom_note(exc)`` says whether
    that worked) and the torque stays off."""
    folder = robot_folder(robot)
    if folder.bus is None:
        raise CalibrationError(f"robot {robot} is not a servo-bus arm (no `bus` section)")
    ids = list(folder.bus.ids)
    previous = {name: bus.sync_read(name, ids) for name in KEPT}  # before anything changes
    ask("Hold the arm with one hand: its torque goes off next and it goes limp; then press Enter")
    try:
        return _steps(bus, robot, folder, ask, done, say)
    except BaseException as exc:
        exc.eeprom_note = _restore(bus, ids, previous)  # type: ignore[attr-defined]
        raise
    finally:
        with contextlib.suppress(Exception):
            bus.sync_write("Lock", dict.fromkeys(ids, 1))


def eeprom_note(exc: BaseException) -> str:
    """What a calibration that raised ``exc`` left in the servos' EEPROM, to say with the reason."""
    return getattr(exc, "eeprom_note", "nothing was changed on the arm")


def _steps(bus: FeetechBus, robot: str, folder, ask, done, say) -> BusCalibration:
    """Steps 1-5 (module docstring)."""
    names, ids, settings = folder.spec.joint_names, list(folder.bus.ids), folder.bus
    bus.write(0xFE, "Torque_Enable", 0)
    bus.sync_write("Torque_Enable", dict.fromkeys(ids, 0))
    _unlocked(bus, ids, {"Homing_Offset": [0] * len(ids), "Min_Position_Limit": [0] * len(ids),
                         "Max_Position_Limit": [COUNTS_PER_TURN - 1] * len(ids)})  # fmt: skip
    ask(
        "Put the arm in its zero pose (docs/so101.md): upper arm up, forearm and hand forward, gripper "
        "closed; then press Enter"
    )
    raw = _present(bus, ids).astype(int)
    zero = np.where(raw == 0, MIDDLE_COUNTS - 1, MIDDLE_COUNTS).astype(float)  # -2048 does not fit
    offsets = [homing_offset(r, z) for r, z in zip(raw, zero)]
    _unlocked(bus, ids, {"Homing_Offset": offsets})
    modes = _directions(bus, ids, names, settings, ask, say)
    ask("Move every joint slowly through its whole range, one after the other; then press Enter")
    low, high = _ranges(bus, ids, done)
    joints = {}
    for k, name in enumerate(names):
        joints[name], offsets[k] = _fit_turn(
            name, ids[k], modes[k], int(raw[k]), zero[k], low[k], high[k], say
        )
    _unlocked(bus, ids, {"Homing_Offset": offsets, "Min_Position_Limit": [j.range_min for j in joints.values()],
                         "Max_Position_Limit": [j.range_max for j in joints.values()]})  # fmt: skip
    unlocked = [i for i, lock in bus.sync_read("Lock", ids).items() if lock != 1]  # read back: a check,
    if unlocked:  # and the sync write (no reply) has surely been acted on
        raise CalibrationError(
            f"servo {unlocked[0]} did not lock its EEPROM again; run the calibration again"
        )
    return BusCalibration(robot, joints, "robokit")


def _restore(bus: FeetechBus, ids: list[int], previous: dict[str, dict[int, int]]) -> str:
    """Write ``previous`` ({register: {id: value}}) back to every servo's EEPROM (unlock, write, lock, read
    back), with Ctrl-C held so it is not left half done; returns what to tell the user."""
    failed: dict[int, str] = {}
    with signals_held():
        for i in ids:
            want = {**{name: previous[name][i] for name in KEPT}, "Lock": 1}
            try:
                _unlocked(bus, [i], {name: [want[name]] for name in KEPT})
                back = {name: bus.read(i, name) for name in want}
            except Exception as exc:  # a servo or a port that stopped answering
                failed[i] = str(exc)
                continue
            wrong = [f"{name} reads {back[name]}, not {v}" for name, v in want.items() if back[name] != v]
            if wrong:
                failed[i] = f"servo {i} {', '.join(wrong)}"
    if not failed:
        return "the arm's previous calibration is back in its EEPROM (read back), the torque stays off"
    first = next(iter(failed.values()))
    return (
        f"could not put the arm's previous calibration back on servo{'s' * (len(failed) > 1)} "
        f"{', '.join(map(str, failed))} ({first}): calibrate the arm again before deploying it"
    )


def _unlocked(bus: FeetechBus, ids: list[int], values: dict[str, list[int]]) -> None:
    """Write EEPROM registers on every servo with its Lock open, so they are kept over a power cycle."""
    bus.sync_write("Lock", dict.fromkeys(ids, 0))
    for name, per_servo in values.items():
        for i, v in zip(ids, per_servo):
            bus.write(i, name, int(v))
    bus.sync_write("Lock", dict.fromkeys(ids, 1))


def _present(bus: FeetechBus, ids: list[int]) -> np.ndarray:
    reading = bus.sync_read("Present_Position", ids)
    return np.array([reading[i] for i in ids], dtype=np.float64)


def _directions(bus, ids, names, settings, ask, say) -> list[int]:
    """Step 3: each joint's drive_mode from the sign of a move in its positive direction."""
    modes = []
    for k, name in enumerate(names):
        before = _present(bus, ids)[k]
        ask(
            f"Move {name} a little (10-20 deg) so that it {settings.positive[k]}, hold it there; then press Enter"
        )
        change = turn_delta(_present(bus, ids)[k], before)
        if abs(change) < MIN_MOVE_COUNTS:
            raise CalibrationError(f"{name} did not move ({change:+.0f} counts); run the calibration again")
        mode = 0 if change > 0 else 1
        if mode != settings.drive_mode[k]:
            say(f"note: {name} counts {'fall' if mode else 'grow'} as it {settings.positive[k]}, unlike the "
                f"robot folder's design: recorded as drive_mode {mode} (a servo mounted the other way round?)")  # fmt: skip
        modes.append(mode)
    return modes


def _ranges(bus: FeetechBus, ids: list[int], done: Callable[[], bool]) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: the lowest and highest reading per joint until ``done()``, followed across the seam (the
    readings are relative to the zero pose's 2048, so a joint that passes 0/4095 goes below 0 or above
    4095 here)."""
    last = _present(bus, ids)
    unwrapped = last.copy()
    low, high = unwrapped.copy(), unwrapped.copy()
    while not done():
        now = _present(bus, ids)
        unwrapped += turn_delta(now, last)
        last = now
        low, high = np.minimum(low, unwrapped), np.maximum(high, unwrapped)
        time.sleep(SAMPLE_PERIOD_S)
    return low, high


def _fit_turn(name, servo_id, mode, raw, zero, low, high, say) -> tuple[JointCalibration, int]:
    """Step 4's fit: the joint's range inside 0..4095 (shifting its zero counts if it crosses the seam);
    returns its calibration and Homing_Offset. Raises CalibrationError for a joint that turned a whole
    turn."""
    low, high = min(low, zero), max(high, zero)  # the zero pose is part of the range
    span = high - low
    if span >= COUNTS_PER_TURN - 1:
        raise CalibrationError(
            f"{name} turned {span * 360 / COUNTS_PER_TURN:.0f} deg, a whole turn or more: its servo measures "
            "one turn, so no Homing_Offset can give it one continuous range; limit its travel and run again"
        )
    shift = 0.0
    if low < 0 or high > COUNTS_PER_TURN - 1:  # crosses the seam: centre the range in the turn
        shift = float(round((low + high) / 2 - MIDDLE_COUNTS))
        say(f"note: {name}'s range crossed the encoder's 0/4095 seam; its zero now reads {zero - shift:.0f}")
    zero_counts = zero - shift
    try:
        offset = homing_offset(raw, zero_counts)
    except CalibrationError:  # the field cannot hold +-2048: read the zero one count lower
        zero_counts, shift = zero_counts - 1, shift + 1
        offset = homing_offset(raw, zero_counts)
    assert abs(offset) <= OFFSET_LIMIT
    lo, hi = int(np.floor(low - shift)), int(np.ceil(high - shift))
    lo, hi = max(lo, 0), min(hi, COUNTS_PER_TURN - 1)
    return JointCalibration(servo_id, mode, offset, lo, hi, float(zero_counts)), offset
