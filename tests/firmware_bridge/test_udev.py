"""robokit arm udev: the rule from an adapter's USB ids (read from a sysfs tree laid out as the kernel's,
built here with known ids), checked ids, and a pty refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from robokit.firmware_bridge.udev import UdevError, UsbIds, udev_rule, usb_ids


def _sysfs(root: Path, tty: str, vendor: str, product: str, serial: str | None) -> Path:
    """A sysfs tree as the kernel lays out a USB CDC adapter: /sys/class/tty/<tty>/device links to the
    interface under the USB device that holds idVendor, idProduct and serial. Returns the /dev path."""
    usb = root / "sys" / "devices" / "pci0000:00" / "0000:00:14.0" / "usb1" / "1-2"
    (usb / "1-2:1.0" / "tty" / tty).mkdir(parents=True)
    (usb / "idVendor").write_text(vendor + "\n")
    (usb / "idProduct").write_text(product + "\n")
    if serial is not None:
        (usb / "serial").write_text(serial + "\n")
    (root / "sys" / "class" / "tty" / tty).mkdir(parents=True)
    os.symlink(usb / "1-2:1.0", root / "sys" / "class" / "tty" / tty / "device")
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev" / tty).touch()
    return root / "dev" / tty


def test_the_rule_names_the_adapter_by_its_serial(tmp_path):
    port = _sysfs(
        tmp_path, "ttyACM0", "1A86", "55d3", "58FA083324"
    )  # the Feetech/Waveshare bus adapter (CH343)
    ids = usb_ids(port, tmp_path / "sys")
    assert ids == UsbIds("1a86", "55d3", "58FA083324")
    assert udev_rule(ids, "so101") == (
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="55d3", ATTRS{serial}=="58FA083324", '
        'SYMLINK+="robokit-so101-58FA083324", GROUP="dialout", MODE="0660", TAG+="uaccess"'
    )


def _udev_accepts(rules: str) -> bool:
    """udev takes a comment only at the start of a line ('comments can only start at beginning of line',
    systemd #7813): every line is empty, a comment, or holds no '#'."""
    return all(
        not line.strip() or line.lstrip().startswith("#") or "#" not in line for line in rules.split("\n")
    )


def test_an_adapter_without_a_serial_matches_by_type_and_says_so_on_a_comment_line(tmp_path):
    port = _sysfs(tmp_path, "ttyUSB0", "1a86", "7523", None)  # a CH340 Nano
    rule = udev_rule(usb_ids(port, tmp_path / "sys"), "servo_arm")
    comment, line = rule.split("\n")
    assert comment == "# no serial number: matches every adapter of this type" and _udev_accepts(rule)
    assert line.startswith('SUBSYSTEM=="tty"') and 'SYMLINK+="robokit-servo_arm"' in line
    assert "serial" not in line and "#" not in line


def test_the_printed_install_command_writes_the_rule_lines_as_they_are(tmp_path, capsys, monkeypatch):
    """The `# install:` line, run by a shell up to `| sudo tee`, gives exactly the rule's lines."""
    import subprocess

    from robokit.cli.arm import main
    from robokit.firmware_bridge import udev

    real = udev.usb_ids
    for tty, serial in (("ttyUSB0", None), ("ttyACM1", "58FA083324")):
        port = _sysfs(tmp_path / tty, tty, "1a86", "7523", serial)
        monkeypatch.setattr(udev, "usb_ids", lambda p, root=tmp_path / tty / "sys": real(p, root))
        assert main(["udev", "--port", str(port), "--robot", "so101"]) == 0
        out = capsys.readouterr().out
        rule = udev_rule(real(port, tmp_path / tty / "sys"), "so101")
        assert _udev_accepts(out) and f"\n{rule}\n" in out
        install = next(line for line in out.splitlines() if line.startswith("# install: "))
        command, tee = install.removeprefix("# install: ").split(" | ")
        assert tee == f"sudo tee -a {udev.RULES_FILE}"
        run = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=10)
        assert run.returncode == 0 and run.stdout == rule + "\n" and _udev_accepts(run.stdout)


@pytest.mark.parametrize(
    ("ids", "name", "message"),
    [
        (UsbIds("1a86", "55d3", 'ab", RUN+="/bin/sh'), "so101", "characters a udev rule cannot match"),
        (UsbIds("1a8", "55d3"), "so101", "vendor id '1a8' is not 4 hex digits"),
        (UsbIds("1a86", "55d3", "X1"), "so 101", "name 'so 101'"),
    ],
)
def test_ids_and_names_that_could_change_the_rule_are_refused(ids, name, message):
    with pytest.raises(UdevError, match=message):
        udev_rule(ids, name)


def test_robokit_arm_udev_prints_the_rule_and_refuses_a_pty(tmp_path, capsys, monkeypatch):
    from robokit.cli.arm import main
    from robokit.firmware_bridge import udev

    master, slave = os.openpty()
    try:
        assert main(["udev", "--port", os.ttyname(slave)]) == 2
        err = capsys.readouterr().err
        assert "not a USB serial adapter" in err and err.count("\n") == 1
        assert "is a pseudo-terminal" in err and "/sys/class/tty" not in err
    finally:
        os.close(master)
        os.close(slave)
    port = _sysfs(tmp_path, "ttyACM3", "0403", "6001", "A10K5XYZ")  # an FTDI adapter
    real = udev.usb_ids
    monkeypatch.setattr(udev, "usb_ids", lambda p: real(p, tmp_path / "sys"))
    assert main(["udev", "--port", str(port), "--robot", "so101"]) == 0
    out = capsys.readouterr().out
    assert 'ATTRS{serial}=="A10K5XYZ", SYMLINK+="robokit-so101-A10K5XYZ"' in out and "udevadm" in out
    assert "chmod" not in out
