"""``robokit emulate``: the real firmware in simavr on a pseudo-terminal, until Ctrl-C.

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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit emulate",
        description=(
            "Build (once, into $ROBOKIT_CACHE or ~/.cache/robokit) and run the real arm firmware on a "
            "simulated ATmega328P paced to the wall clock, with UART0 on a pseudo-terminal. Prints "
            "'PORT /dev/pts/N' - open that port with the host bridge (any baud) - and runs until Ctrl-C. "
            "Exits 1 if the emulator dies. Protocol: docs/protocol.md."
        ),
    )
    p.add_argument("--eeprom", type=Path, help="EEPROM image file: loaded at start, saved on change and exit")
    p.add_argument(
        "--no-realtime", action="store_true", help="run as fast as possible, not paced to the clock"
    )
    p.add_argument(
        "--pulses", action="store_true", help="also print 'PULSE <frame> <w0_us> .. <w5_us>' for every frame"
    )
    return p


def _check_eeprom(path: Path | None) -> str | None:
    """Why ``path`` cannot serve as the EEPROM image, or None."""
    if path is None:
        return None
    if path.exists() and not path.is_file():
        return f"--eeprom {path}: not a regular file"
    if path.is_file() and path.stat().st_size not in (0, 1024):
        return f"--eeprom {path}: {path.stat().st_size} bytes, an ATmega328P EEPROM image is 1024"
    if not path.parent.is_dir():
        return f"--eeprom {path}: folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        return f"--eeprom {path}: not readable and writable (the image is saved on change and at exit)"
    return None


def _print_pulses(emu, last: int, out: TextIO) -> int:
    """Print the PULSE lines of frames after ``last``; returns the last frame printed."""
    for pf in emu.pulses.after(last):
        print(f"PULSE {pf.frame} " + " ".join(f"{w:.2f}" for w in pf.widths_us), file=out, flush=True)
        last = pf.frame
    return last


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the emulator until Ctrl-C (exit 0) or until it dies (exit 1, reported on ``err``)."""
    from robokit.firmware_bridge.emulator import Emulator, EmulatorError, describe_exit

    emu = Emulator(eeprom=args.eeprom, realtime=not args.no_realtime, stderr=err)
    try:
        emu.start()
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


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    reason = _check_eeprom(args.eeprom)
    if reason:
        print(f"robokit emulate: {reason}", file=sys.stderr)
        return 2
    return run(args)
