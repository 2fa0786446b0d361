"""Folders for the report tests, written from files."""

from __future__ import annotations

import json
from pathlib import Path


def hostile_eval(folder: Path) -> Path:
    """An eval folder whose eval.json carries markup and script in every string it can, and 12 episodes,
    every third one failed."""
    folder.mkdir(parents=True)
    evil = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    episodes = [
        {"episode": i, "seed": 100 - 7 * i, "success": i % 3 != 0, "return": float(-i * i % 11), "length": 50}
        for i in range(12)
    ]
    data = {
        "policy": evil,
        "env_id": evil,
        "spec": {"robot": evil, "algo": "</td></tr></table><script>window.pwned = 3</script>"},
        "aggregate": {
            "episodes": 12,
            "success_rate": 8 / 12,
            "success_ci95": [0.39, 0.86],
            "mean_return": evil,
        },
        "episodes": episodes,
        "videos": ["javascript:alert(1)", "../../outside.mp4", "https://example.com/v.mp4"],
        "plots": ["/etc/passwd", 'x.png"><script>window.pwned=4</script>'],
    }
    (folder / "eval.json").write_text(json.dumps(data))
    return folder
