"""DeployLog's tick writer thread: every line in order, and a real write failure (the file-size limit,
EFBIG) surfaces as LogWriteFailed on a later tick and in the summary's notes, leaving whole lines; the
deploy report survives a log folder it cannot plot into."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from robokit.core.run_files import SUMMARY_FILE, TICKS_FILE
from robokit.runtime.deploy_log import DeployLog
from robokit.runtime.ticks import TickLog


def test_every_tick_is_written_in_order_by_the_time_the_summary_is(tmp_path):
    log = DeployLog(tmp_path / "run")
    for k in range(2000):
        log.write_tick({"tick": k, "q": [k * 0.001] * 6})
    assert TickLog(log).finish({"exit_reason": "completed"}) is None
    rows = [json.loads(line) for line in (tmp_path / "run" / TICKS_FILE).read_text().splitlines()]
    assert [r["tick"] for r in rows] == list(range(2000))
    assert json.loads((tmp_path / "run" / SUMMARY_FILE).read_text()) == {"exit_reason": "completed"}


def test_a_failed_write_is_raised_on_a_later_tick_and_noted_in_the_summary(tmp_path):
    # a child process with a 4 KiB file-size limit: the writer thread's os.write fails with EFBIG
    child = textwrap.dedent(
        f"""
        import json, resource, signal, time
        from robokit.runtime.deploy_log import DeployLog, LogWriteFailed
        from robokit.runtime.ticks import TickLog
        log = DeployLog({str(tmp_path / "run")!r})   # summary space is reserved before the limit
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        raised_at = None
        for k in range(500):
            try:
                log.write_tick({{"tick": k, "pad": "x" * 100}})
            except LogWriteFailed as exc:
                raised_at, message = k, str(exc)
                break
            time.sleep(0.002)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        summary = {{"exit_reason": "log write failed", "notes": []}}
        TickLog(log).finish(summary)
        print(json.dumps({{"raised_at": raised_at, "message": message, "notes": summary["notes"]}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["raised_at"] is not None and 30 <= result["raised_at"] < 100  # ~4096 / 120 B a line
    assert "ticks.jsonl failed" in result["message"] and "too large" in result["message"].lower()
    assert result["notes"] and "ticks.jsonl failed" in result["notes"][0]
    written = (tmp_path / "run" / TICKS_FILE).read_bytes()
    # whole lines only: the line cut short by the limit was dropped (a reader of the log never sees half)
    assert (
        len(written) <= 4096 and written.endswith(b"\n") and all(json.loads(x) for x in written.splitlines())
    )


def test_the_report_survives_a_plot_it_cannot_write(tmp_path, capsys):
    from types import SimpleNamespace

    from robokit.cli.deploy import _report
    from robokit.robots import get_robot

    log = tmp_path / "log"
    (log / "joints.png").mkdir(parents=True)  # a folder where the plot goes
    (log / TICKS_FILE).write_text(
        '{"tick": 0, "q": [0, 0, 0, 0, 0, 0], "targets": [0, 0, 0, 0, 0, 0]}\n{"tick": 1, "q'
    )
    _report(SimpleNamespace(summary=None, log_dir=log, robot=get_robot("so101")))
    out = capsys.readouterr().out
    assert "joints.png not written" in out and "log: " in out
