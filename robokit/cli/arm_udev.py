"""``robokit arm udev --port P [--robot NAME]``: print the udev rule that names this USB serial adapter
stably (``/dev/robokit-NAME-SERIAL``) and lets the logged-in user open it, and how to install it."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_REFUSED = 0, 2


def main(args: argparse.Namespace) -> int:
    """Print the rule for ``args.port``; one line on stderr and exit 2 when it cannot be made."""
    from robokit.firmware_bridge.udev import RULES_FILE, UdevError, udev_rule, usb_ids
    from robokit.robots import default_robot

    if args.port is None:
        print("robokit arm: udev needs --port (the adapter, e.g. /dev/ttyACM0)", file=sys.stderr)
        return EXIT_REFUSED
    try:
        rule = udev_rule(usb_ids(args.port), args.robot or default_robot())
    except (UdevError, OSError) as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"# {RULES_FILE}\n{rule}\n")
    lines = " ".join(f"'{line}'" for line in rule.split("\n"))  # no ' in a rule: its ids are checked
    print(f"# install: printf '%s\\n' {lines} | sudo tee -a {RULES_FILE}")
    print(
        "#          sudo udevadm control --reload-rules && sudo udevadm trigger   (then re-plug the adapter)"
    )
    return EXIT_OK
