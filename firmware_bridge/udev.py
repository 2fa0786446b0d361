"""A udev rule that gives a USB serial adapter a stable name by its serial number and lets the logged-in
user and the ``dialout`` group open it (never ``chmod 666``): ``robokit arm udev --port P``.

    ids = usb_ids("/dev/ttyACM0")              # from sysfs: vendor, product, serial of the adapter
    print(udev_rule(ids, "so101"))            # SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", ...

The ids are read from sysfs (``/sys/class/tty/<name>/device``, walked up to the USB device that has
``idVendor``); they are checked before they go into a rule, so a strange serial cannot add rule text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

HEX4 = re.compile(r"[0-9a-f]{4}")
SERIAL = re.compile(r"[A-Za-z0-9._-]{1,64}")
NAME = re.compile(r"[a-z0-9_-]{1,32}")
RULES_FILE = "/etc/udev/rules.d/99-robokit.rules"
NO_SERIAL = "# no serial number: matches every adapter of this type"

__all__ = ["RULES_FILE", "UdevError", "UsbIds", "usb_ids", "udev_rule"]


class UdevError(ValueError):
    """The port is not a USB serial adapter robokit can name, or its ids are not usable in a rule."""


@dataclass(frozen=True)
class UsbIds:
    """A USB device's vendor and product id (4 lowercase hex digits each) and serial ('' if it has none)."""

    vendor: str
    product: str
    serial: str = ""


def usb_ids(port: str | os.PathLike, sys_root: str | os.PathLike = "/sys") -> UsbIds:
    """The ids of the USB device behind serial port ``port`` (a /dev path or its symlink). Raises UdevError
    for a port that is not a USB tty (a pseudo-terminal in /dev/pts, which has no sysfs device; a built-in
    UART) or ids that are not what USB allows."""
    if not os.path.exists(port):
        raise UdevError(f"no such port: {port}")
    real = Path(os.path.realpath(port))
    if real.parent == Path("/dev/pts") or real.name == "ptmx":
        raise UdevError(
            f"{port} is a pseudo-terminal (a program's end of a serial line, e.g. a virtual arm), not a USB "
            "serial adapter; a udev rule names USB adapters only"
        )
    name = real.name
    device = Path(sys_root) / "class" / "tty" / name / "device"
    if not device.exists():
        raise UdevError(
            f"{port} is not a USB serial adapter (no {device}); a udev rule names USB adapters only"
        )
    node = device.resolve()
    while node != node.parent and not (node / "idVendor").is_file():
        node = node.parent
    if not (node / "idVendor").is_file():
        raise UdevError(f"{port} is not on USB (no idVendor above {device.resolve()})")
    read = lambda f: (node / f).read_text().strip() if (node / f).is_file() else ""  # noqa: E731
    return checked_ids(UsbIds(read("idVendor").lower(), read("idProduct").lower(), read("serial")))


def checked_ids(ids: UsbIds) -> UsbIds:
    """``ids`` if each can go into a rule as it is; raises UdevError naming the one that cannot."""
    for what, value in (("vendor id", ids.vendor), ("product id", ids.product)):
        if not HEX4.fullmatch(value):
            raise UdevError(f"the adapter's {what} {value!r} is not 4 hex digits")
    if ids.serial and not SERIAL.fullmatch(ids.serial):
        raise UdevError(f"the adapter's serial {ids.serial!r} has characters a udev rule cannot match safely")
    return ids


def udev_rule(ids: UsbIds, name: str) -> str:
    """The rule text: the adapter with these ids gets ``/dev/robokit-<name>[-<serial>]``, group dialout,
    mode 0660, and the logged-in user's access (uaccess). One line; without a serial (some CH340s) every
    adapter of that type matches, and a comment line above the rule says so (udev takes a comment only at
    the start of a line). Raises UdevError for a name that is not [a-z0-9_-]."""
    ids = checked_ids(ids)
    if not NAME.fullmatch(name):
        raise UdevError(f"name {name!r}: want lowercase letters, digits, _ or -")
    match = f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{ids.vendor}", ATTRS{{idProduct}}=="{ids.product}"'
    link = f"robokit-{name}"
    if ids.serial:
        match += f', ATTRS{{serial}}=="{ids.serial}"'
        link += f"-{ids.serial}"
        note = ""
    else:
        note = f"{NO_SERIAL}\n"
    return f'{note}{match}, SYMLINK+="{link}", GROUP="dialout", MODE="0660", TAG+="uaccess"'
