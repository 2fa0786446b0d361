"""``robokit emulate``: the real firmware in simavr on a pseudo-terminal, until Ctrl-C; with ``--robot so101``
a virtual Feetech servo bus with a PyBullet arm behind it instead (robokit.firmware_bridge.feetech).

Prints ``PORT /dev/pts/N`` (and with ``--pulses`` one ``PULSE`` line per frame). The emulator's own
stderr is copied to stderr as it comes. If the emulator dies, says how (exit code or signal) with
the tail of its stderr, and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from robokit.cli.parser import OneLineParser
from robokit.paths import PathError, check_output_file


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="robokit emulate",
        description=(
            "Build (once, into $ROBOKIT_CACHE or ~/.cache/robokit) and run the real arm firmware on a "
            "simulated ATmega328P paced to the wall clock, with UART0 on a pseudo-terminal. Prints "
            "'PORT /dev/pts/N' - open that port with the host bridge (any baud) - and runs until Ctrl-C. "
            "Exits 1 if the emulator dies. Protocol: docs/protocol.md."
        ),
    )
    p.add_argument(
        "--eeprom",
        help="EEPROM image file: loaded at start, saved on change and exit; one emulator per image (locked)",
    )
    p.add_argument(
        "--no-realtime", action="store_true", help="run as fast as possible, not paced to the clock"
    )
    p.add_argument(
        "--pulses", action="store_true", help="also print 'PULSE <frame> <w0_us> .. <w5_us>' for every frame"
    )
    bus = p.add_argument_group(
        "a servo-bus arm (--robot so101): virtual Feetech STS3215 servos with a PyBullet arm behind them"
    )
    bus.add_argument(
        "--robot",
        help="emulate this robot's servo bus instead of the firmware (a robot with a `bus` section)",
    )
    bus.add_argument(
        "--return-delay", type=int, help="Return_Delay_Time of every servo, 0..254 (2 us units; default 250)"
    )
    bus.add_argument("--drop-rate", type=float, default=0.0, help="fraction of status packets lost, 0..1")
    bus.add_argument("--corrupt-rate", type=float, default=0.0, help="fraction of status packets corrupted")
    bus.add_argument("--silent", type=int, action="append", default=[], help="a servo id that never answers")
    bus.add_argument("--volts", type=float, help="the supply voltage every servo measures (default 12.0)")
    bus.add_argument("--record", help="write the arm's joint states (JSON, 50 Hz) to this file at exit")
    bus.add_argument(
        "--leader",
        action="store_true",
        help="a leader arm for `robokit teleop`: a scripted person moves it (slow sines over its joints)",
    )
    bus.add_argument(
        "--camera",
        action="store_true",
        help="also serve a camera on the arm: its rendered view as an MJPEG stream on 127.0.0.1 (prints "
        "'CAMERA <url>'; `robokit teleop --camera front=<url>` records it)",
    )
    bus.add_argument(
        "--camera-size", metavar="WxH", help="with --camera: its frame size, px (default 320x240)"
    )
    bus.add_argument("--camera-fps", type=float, help="with --camera: its frame rate (default 30)")
    return p


def _check_eeprom(text: str | None) -> str | None:
    """Why ``text`` cannot serve as the EEPROM image, or None. The image's folder must take a new file
    and a rename (how the emulator saves it), so /proc, /sys, a read-only folder are refused now, not
    at exit."""
    if text is None:
        return None
    try:
        path = check_output_file(text, "--eeprom")
    except PathError as exc:
        return str(exc)
    folder = Path(os.path.abspath(path)).parent
    if not folder.is_dir():  # the emulator saves into the folder; it does not create it
        return f"--eeprom {path}: folder {folder} does not exist"
    if path.is_file() and path.stat().st_size not in (0, 1024):
        return f"--eeprom {path}: {path.stat().st_size} bytes, an ATmega328P EEPROM image is 1024"
    if path.exists():
        try:
            with open(path, "r+b"):
                pass
        except OSError as exc:
            return f"--eeprom {path}: not readable and writable ({exc.strerror or exc})"
    return None


def _print_pulses(emu, last: int, out: TextIO) -> int:
    """Print the PULSE lines of frames after ``last``; returns the last frame printed."""
    for pf in emu.pulses.after(last):
        print(f"PULSE {pf.frame} " + " ".join(f"{w:.2f}" for w in pf.widths_us), file=out, flush=True)
        last = pf.frame
    return last


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the emulator until Ctrl-C (exit 0) or until it dies (exit 1, reported on ``err``)."""
    from robokit.firmware_bridge.emulator import EepromInUseError, Emulator, EmulatorError, describe_exit

    out, err = out or sys.stdout, err or sys.stderr  # looked up now: a default bound at import goes stale
    emu = Emulator(eeprom=args.eeprom, realtime=not args.no_realtime, stderr=err)
    try:
        emu.start()
    except EepromInUseError as exc:
        print(f"robokit emulate: {exc}", file=err)
        return 2
    except EmulatorError as exc:
        print(f"robokit emulate: {exc}", file=err)
        return 1
    print(f"PORT {emu.port}", file=out, flush=True)
    last = -1
    try:
        while emu.running:
            time.sleep(0.05)
            if args.pulses:
                last = _print_pulses(emu, last, out)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        code = emu.stop()
    if emu.died:
        tail = emu.stderr_tail()
        print(f"robokit emulate: the emulator (pid {emu.pid}) died: {describe_exit(code)}", file=err)
        print(f"its last stderr lines:\n{tail}" if tail else "it wrote nothing to stderr", file=err)
        return 1
    if emu.pulses.timing:
        print("TIMING " + " ".join(f"{k}={v}" for k, v in emu.pulses.timing.items()), file=out)
    return 0


def run_bus(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Serve ``args.robot``'s virtual servo bus until Ctrl-C; exit 2 for a bad setting."""
    from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm

    out, err = out or sys.stdout, err or sys.stderr
    try:
        virtual = VirtualArm(
            args.robot, return_delay=args.return_delay, drop_rate=args.drop_rate, corrupt_rate=args.corrupt_rate,
            silent=args.silent, volts=args.volts, leader=args.leader,
        )  # fmt: skip
    except (KeyError, ValueError) as exc:
        print(f"robokit emulate: {exc.args[0] if exc.args else exc}", file=err)
        return 2
    from robokit.runtime.session import stop_on_signals

    with virtual as port, stop_on_signals():  # SIGTERM/SIGHUP stop it like Ctrl-C: --record is written
        ids = ", ".join(f"{i} (silent)" if i in virtual.silent else str(i) for i in virtual.settings.ids)
        print(f"PORT {port}", file=out, flush=True)
        if args.camera:
            width, height = (int(v) for v in args.camera_size.split("x"))
            print(f"CAMERA {virtual.start_camera(width, height, args.camera_fps)}", file=out, flush=True)
        print(f"servos {ids} at {virtual.settings.baud} baud; Ctrl-C stops", file=err, flush=True)
        try:
            while True:
                time.sleep(0.2)
        except (KeyboardInterrupt, BrokenPipeError):
            pass
        if args.record:
            rows = virtual.write_history(Path(args.record))
            print(f"recorded {rows} joint states to {args.record}", file=err)
    return 0


def _bus_problem(args: argparse.Namespace) -> str | None:
    """Why the options do not fit together, or None."""
    bus_only = ("return_delay", "volts", "record")
    if args.robot is None:
        used = [f"--{k.replace('_', '-')}" for k in bus_only if getattr(args, k) is not None]
        used += ["--silent"] * bool(args.silent) + ["--drop-rate"] * bool(args.drop_rate)
        used += ["--leader"] * bool(args.leader) + ["--camera"] * bool(args.camera)
        used += ["--corrupt-rate"] * bool(args.corrupt_rate)
        return f"{used[0]} needs --robot (a servo-bus arm)" if used else None
    given = [
        f
        for f, v in (("--camera-size", args.camera_size), ("--camera-fps", args.camera_fps))
        if v is not None
    ]
    if given and not args.camera:
        return f"{given[0]} goes with --camera"
    args.camera_size = args.camera_size or "320x240"
    args.camera_fps = 30.0 if args.camera_fps is None else args.camera_fps
    size = args.camera_size.split("x")
    if len(size) != 2 or not all(v.isdigit() for v in size):
        return f"--camera-size {args.camera_size!r}: want WIDTHxHEIGHT in px, like 320x240"
    from robokit.firmware_bridge.plant_view import check_view

    try:
        check_view(int(size[0]), int(size[1]), args.camera_fps)
    except ValueError as exc:
        return str(exc)
    if args.eeprom or args.pulses or args.no_realtime:
        return "--eeprom, --pulses and --no-realtime are the firmware emulator's; not with --robot"
    if args.record:
        try:
            path = check_output_file(args.record, "--record")
        except PathError as exc:
            return str(exc)
        folder = Path(os.path.abspath(path)).parent  # written at exit: refuse now what would fail then
        if not folder.is_dir():
            return f"--record {path}: folder {folder} does not exist"
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return f"--record {path}: not writable"
    return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    problem = _bus_problem(args)
    if problem:
        print(f"robokit emulate: {problem}", file=sys.stderr)
        return 2
    if args.robot is not None:
        return run_bus(args)
    reason = _check_eeprom(args.eeprom)
    if reason:
        print(f"robokit emulate: {reason}", file=sys.stderr)
        return 2
    return run(args)
