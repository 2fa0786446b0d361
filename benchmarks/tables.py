"""Markdown tables from benchmarks/results/*.json, written into the README between markers.

    python benchmarks/tables.py            # rewrite README.md's (and docs/training.md's) tables in place
    python benchmarks/tables.py --print    # only print the tables

Each table sits between ``<!-- perf:NAME -->`` and ``<!-- /perf:NAME -->`` in README.md, so a rerun of
a benchmark followed by this script keeps the README true.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def env_throughput(d: dict) -> str:
    s, r = d["steps_per_s"], d["ratios"]
    rows = [
        "| env steps/s, one core | robokit | raw PyBullet, same scene | ratio | panda-gym PandaReach-v3 | robokit / panda-gym |",
        "|---|---|---|---|---|---|",
    ]
    pg = s.get("panda_gym_PandaReach_v3")
    pg_cell = f"{pg:.0f} ({r['panda_gym_vs_raw']:.2f} of raw)" if pg else "not installed"
    rows.append(
        f"| PandaReach, panda-gym physics (1/500 s x 20) | {s['robokit_PandaReach']:.0f} | "
        f"{s['raw_pybullet_panda']:.0f} | **{r['PandaReach_vs_raw']:.2f}** | {pg_cell} | "
        f"{r.get('PandaReach_vs_panda_gym', float('nan')):.2f} |"
    )
    rows.append(
        f"| PandaReach, 1/250 s x 10, 20 solver iterations | {s['robokit_PandaReach_fast']:.0f} | "
        f"{s['raw_pybullet_panda_fast']:.0f} | {r['PandaReach_fast_vs_raw_fast']:.2f} | (as above) | "
        f"{r.get('PandaReach_fast_vs_panda_gym', float('nan')):.2f} |"
    )
    rows.append(
        f"| ServoArmReach (servo model every 20 ms) | {s['robokit_ServoArmReach']:.0f} | "
        f"{s['raw_pybullet_servo_arm']:.0f} | {r['ServoArmReach_vs_raw']:.2f} | | "
        f"{r['ServoArmReach_vs_PandaReach']:.2f} x PandaReach |"
    )
    rows += _object_rows(s, r)
    return "\n".join(rows)


def _object_rows(s: dict, r: dict) -> list[str]:
    """Push / PickAndPlace rows (each against the raw physics of its own scene; PandaPush also against
    panda-gym's PandaPush-v3, whose steps/s go in the panda-gym column)."""
    rows = []
    for name in ("PandaPush", "PandaPickAndPlace", "ServoArmPush", "ServoArmPickAndPlace"):
        if f"robokit_{name}" not in s:
            continue
        pg = s.get("panda_gym_PandaPush_v3") if name == "PandaPush" else None
        pg_cell = f"{pg:.0f} (PandaPush-v3)" if pg else ""
        ratio_pg = f"{r['PandaPush_vs_panda_gym']:.2f}" if pg and "PandaPush_vs_panda_gym" in r else ""
        rows.append(
            f"| {name} | {s[f'robokit_{name}']:.0f} | {s[f'raw_pybullet_{name}']:.0f} | "
            f"**{r[f'{name}_vs_raw']:.2f}** | {pg_cell} | {ratio_pg} |"
        )
    return rows


def time_to_solve(d: dict) -> str:
    rows = [
        "| configuration | solved | median steps (min-max) | median training s (min-max) |",
        "|---|---|---|---|",
    ]
    for name, c in d["configs"].items():
        runs = [r for r in c.get("runs", []) if r.get("solved")]
        steps, secs = [r["steps"] for r in runs], [r["train_time_s"] for r in runs]
        span_steps = f" ({min(steps)}-{max(steps)})" if len(steps) > 1 else ""
        span_s = f" ({min(secs):.1f}-{max(secs):.1f})" if len(secs) > 1 else ""
        rows.append(
            f"| {name} | {c['solved']} | {c['median_steps']}{span_steps} | {c['median_train_time_s']:.1f}{span_s} |"
        )
    return "\n".join(rows)


def video_throughput(d: dict) -> str:
    w, h = d["size"]
    rows = [
        f"| {d['env_id']} at {w}x{h} | frames/s |",
        "|---|---|",
        f"| step + render alone, one process (baseline) | {d['step_and_render_one_process_fps']:.1f} |",
    ]
    for r in d["end_to_end"]:
        rows.append(
            f"| `robokit eval --video`, {r['workers']} worker(s), {r['episodes']} episodes filmed, "
            f"H.264 + grid | {r['frames_per_s']:.1f} |"
        )
    return "\n".join(rows)


def firmware_roundtrip(d: dict) -> str:
    lat, wire = d["latency_ms"], d["wire_limit"]
    return "\n".join(
        [
            "| TARGETS -> STATE over the emulator's pty | measured | wire limit (1 Mbaud) |",
            "|---|---|---|",
            f"| round trip p50 / p99 | {lat['p50']:.2f} / {lat['p99']:.2f} ms | "
            f"{wire['round_trip_ms_at_10us_per_byte']:.2f} ms |",
            f"| sustained rate, one request outstanding | {d['sustained_rate_hz']:.0f} Hz | "
            f"{wire['max_rate_hz']:.0f} Hz |",
        ]
    )


def deploy_loop(d: dict) -> str:
    w, inf = d["wire"], d["inference"]
    rows = [
        "| deploy loop vs emulator | achieved | lateness p99 | missed | tick busy p99 |",
        "|---|---|---|---|---|",
    ]
    for hz, r in d["rates"].items():
        busy = f"{r['busy_p99_ms']:.2f} ms" if "busy_p99_ms" in r else "-"
        rows.append(
            f"| {hz} Hz | {r['achieved_hz']:.1f} Hz | {r['lateness_p99_ms']:.3f} ms | "
            f"{r['missed_deadlines']} | {busy} |"
        )
    rows.append(f"| wire-time limit | {w['limit_hz']:.0f} Hz | | | {w['tick_wire_ms']:.2f} ms |")
    rows.append(
        f"| policy inference alone (p50 / p99) | | | | {inf['p50_us']:.0f} / {inf['p99_us']:.0f} us |"
    )
    return "\n".join(rows)


def so101_reach(d: dict) -> str:
    rows = [
        "| seed | `robokit train` wall s | training s to 95% (steps) | 100 held-out | 10 goals on the virtual bus: "
        "max error from servos / from the arm's tip | load after |",
        "|---|---|---|---|---|---|",
    ]
    for r in d["rows"]:
        to95 = (
            f"{r['train_s_to_95']:.0f} ({r['steps_to_95']})"
            if r["train_s_to_95"] is not None
            else "not reached"
        )
        rows.append(
            f"| {r['seed']} | {r['train_wall_s']:.0f} | {to95} | {r['held_out_success']:.0%} | "
            f"{r['max_reach_error_m'] * 100:.2f} / {r['max_plant_reach_error_m'] * 100:.2f} cm | "
            f"{r['load_average_1min_after']} |"
        )
    lo, hi = d["train_wall_s_range"]
    rows.append(f"| median (range) | {d['median_train_wall_s']:.0f} ({lo:.0f}-{hi:.0f}) | | | | |")
    return "\n".join(rows)


def so101_bus(d: dict) -> str:
    b = d["bus_budget"]
    rows = [
        "| SO-101 loop vs virtual bus (return delay 0) | achieved | missed deadlines | tick busy p50 / p99 "
        "| read p99 |",
        "|---|---|---|---|---|",
    ]
    for k, r in enumerate(d.get("runs") or [d["loop"]]):
        rows.append(
            f"| run {k + 1}: {r['hz']:g} Hz for {r['seconds']:g} s | {r['achieved_hz']:.1f} Hz | "
            f"{r['missed_deadlines']} of {r['ticks']} | {r['tick_busy_p50_ms']:.2f} / {r['tick_busy_p99_ms']:.2f} "
            f"ms | {r['read_p99_ms']:.2f} ms |"
        )
    rows.append(
        f"| bus time per tick: {b['sync_read_bytes']} + {b['reply_bytes']} + {b['sync_write_bytes']} bytes "
        f"at 1 Mbaud, return delays {b['return_delays_ms']:g} ms | | | {b['tick_bus_ms_without_adapter']:.2f} ms "
        "+ the USB adapter's latency (FTDI: 1 ms at latency timer 1, 16 ms at its factory 16) | |"
    )
    return "\n".join(rows)


def time_to_solve_objects(d: dict) -> str:
    import object_table  # beside this script

    return object_table.table(d)


def seeds(d: dict) -> str:
    """benchmarks/seeds.py's table: per env, median and (min-max) over the seeds measured."""
    from seeds import env_ids, table

    return table(d, env_ids())


def scale(d: dict) -> str:
    """benchmarks/scale.py's table: sweep overhead per trial, eval episodes/s (local, Ray)."""
    from scale import table

    return table(d)


TABLES: dict[str, Callable[[dict], str]] = {
    "seeds": seeds,
    "scale": scale,
    "env_throughput": env_throughput,
    "time_to_solve": time_to_solve,
    "time_to_solve_objects": time_to_solve_objects,
    "video_throughput": video_throughput,
    "firmware_roundtrip": firmware_roundtrip,
    "deploy_loop": deploy_loop,
    "so101_reach": so101_reach,
    "so101_bus": so101_bus,
}


SOURCES = {"time_to_solve_objects": "time_to_solve"}  # tables read from another table's results file


def render_all() -> dict[str, str]:
    out = {}
    for name, fn in TABLES.items():
        d = _load(SOURCES.get(name, name))
        out[name] = fn(d) if d else f"(no results yet: run `python benchmarks/{name}.py`)"
    return out


def update_readme(readme: Path, tables: dict[str, str]) -> list[str]:
    """Replace each marked block; returns the names that were found and updated."""
    text, done = readme.read_text(), []
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- perf:{name} -->\n)(?:.*?\n)?(<!-- /perf:{name} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
            done.append(name)
    readme.write_text(text)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--print", action="store_true", help="print the tables, leave README.md alone")
    args = parser.parse_args()
    tables = render_all()
    if args.print:
        for name, t in tables.items():
            print(f"## {name}\n\n{t}\n")
        return
    for doc in ("README.md", "docs/training.md"):
        done = update_readme(ROOT / doc, tables)
        print(f"{doc}: updated {', '.join(done) or 'nothing (no markers found)'}")


if __name__ == "__main__":
    main()
