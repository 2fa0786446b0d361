"""Every option of `robokit arm` is checked before the port is opened: a value that makes no physical
sense is one line on stderr and exit code 2, with not a byte sent and no file written.

The port is a real pseudo-terminal whose other end the test holds: anything robokit sent would be
readable there. No emulator is needed, so these run in well under a second each.
"""

import os
import select
import stat

import pytest

from robokit.cli import arm as cli_arm


@pytest.fixture
def pty_port():
    """(path of a real pty's slave, fd of its master); bytes written to the slave arrive on the master."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield path, master
    os.close(slave)
    os.close(master)


def _sent(master: int) -> bytes:
    """Whatever arrived on the master side (nothing waits)."""
    out = b""
    while select.select([master], [], [], 0.05)[0]:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        out += chunk
    return out


BAD = {
    "zero-us out of the servo range (struct.error before)": ["calibrate", "--zero-us", "99999"],
    "zero-us below 500": ["calibrate", "--zero-us", "499"],
    "zero-us nan": ["calibrate", "--zero-us", "nan"],
    "zero-us inf": ["calibrate", "--zero-us", "inf"],
    "zero-us text": ["calibrate", "--zero-us", "fifteen"],
    "us-per-rad 0 (servo never moves)": ["calibrate", "--us-per-rad", "0"],
    "us-per-rad tiny": ["calibrate", "--us-per-rad", "-50"],
    "us-per-rad huge": ["calibrate", "--us-per-rad", "1e9"],
    "us-per-rad nan": ["calibrate", "--us-per-rad", "nan"],
    "watchdog off": ["calibrate", "--watchdog-ms", "0"],
    "watchdog shorter than 3 control periods": ["calibrate", "--watchdog-ms", "10"],
    "watchdog 119 ms at 25 Hz": ["calibrate", "--watchdog-ms", "119"],
    "watchdog above the maximum": ["calibrate", "--watchdog-ms", "65001"],
    "watchdog negative": ["calibrate", "--watchdog-ms", "-1"],
    "watchdog not whole": ["calibrate", "--watchdog-ms", "1.5"],
    "unknown joint": ["calibrate", "--joint", "knee", "--zero-us", "1500"],
    "joint with nothing to change": ["calibrate", "--joint", "elbow"],
    "baud 0 (hang-up)": ["status", "--baud", "0"],
    "baud negative": ["status", "--baud", "-9600"],
    "baud absurd": ["status", "--baud", "99999999"],
    "baud text": ["status", "--baud", "fast"],
    "unknown robot": ["status", "--robot", "r2d2"],
    "robot the firmware does not drive": ["status", "--robot", "panda"],
    "calibrate option with status": ["status", "--zero-us", "1500", "--joint", "elbow"],
    "out with enable": ["enable", "--out", "x.json"],
    "unknown action": ["dance"],
}


@pytest.mark.parametrize("argv", list(BAD.values()), ids=list(BAD))
def test_a_bad_value_is_one_line_exit_2_and_nothing_is_sent(argv, pty_port, tmp_path, capsys, monkeypatch):
    path, master = pty_port
    monkeypatch.chdir(tmp_path)  # calibrate's default --out would land here
    code = cli_arm.main([*argv, "--port", path])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert _sent(master) == b""
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_out_is_refused_before_the_eeprom_is_touched(pty_port, tmp_path, capsys):
    path, master = pty_port
    (tmp_path / "folder").mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outs = [tmp_path / "missing" / "cal.json", tmp_path / "folder", fifo]
    if os.geteuid() != 0:  # root writes into a read-only folder anyway
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        outs.append(ro / "cal.json")
    for out in outs:
        code = cli_arm.main(["calibrate", "--port", path, "--zero-us", "1520", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and str(out) in err and len(err.splitlines()) == 1, err
        assert _sent(master) == b""
    assert not (tmp_path / "missing").exists() and list((tmp_path / "folder").iterdir()) == []
    for out in ("x" * 300, "/proc/cal.json", ""):  # paths no file can have (root included)
        assert cli_arm.main(["calibrate", "--port", path, "--zero-us", "1520", "--out", out]) == 2
        assert len(capsys.readouterr().err.splitlines()) == 1 and _sent(master) == b""


def test_the_messages_name_the_limits(pty_port, capsys):
    path, _ = pty_port
    cases = {
        ("--zero-us", "99999"): "outside the servo pulse range 500..2500 us",
        ("--us-per-rad", "0"): "magnitude must be 100..4000",
        ("--watchdog-ms", "0"): "turns the firmware's watchdog off",
        ("--watchdog-ms", "10"): "outside 100..60000 ms",
        ("--watchdog-ms", "110"): "shorter than 3 control periods at 25 Hz (120 ms)",
        ("--watchdog-ms", "70000"): "outside 100..60000 ms",
    }
    for (opt, value), want in cases.items():
        assert cli_arm.main(["calibrate", "--port", path, opt, value]) == 2
        assert want in capsys.readouterr().err


def test_a_missing_port_is_refused_with_exit_2(tmp_path, capsys):
    code = cli_arm.main(["status", "--port", str(tmp_path / "ttyNONE")])
    err = capsys.readouterr().err
    assert code == 2 and "no such port" in err and len(err.splitlines()) == 1


def test_the_boundaries_are_accepted(pty_port, tmp_path, capsys, monkeypatch):
    """Values at the edges pass the argument checks (the pty never answers HELLO, so the run then
    stops at connecting: exit 2 with 'no answer', not a usage error)."""
    path, master = pty_port
    argv = ["calibrate", "--port", path, "--zero-us", "500", "--us-per-rad", "-4000", "--watchdog-ms", "120"]
    argv += ["--out", str(tmp_path / "cal.json")]
    from robokit.firmware_bridge import hardware_arm

    orig = hardware_arm.HardwareArm.__init__

    def quick(self, *a, **kw):
        orig(self, *a, **{**kw, "hello_timeout_s": 0.3})

    monkeypatch.setattr(hardware_arm.HardwareArm, "__init__", quick)
    code = cli_arm.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "no answer to HELLO" in err
    assert _sent(master).count(b"\x00") >= 1  # it did try: HELLO frames went out
