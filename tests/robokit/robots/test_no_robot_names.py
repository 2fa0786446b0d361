"""No robot-name branches outside the robot folders: a robot's name appears as a string in no package
module (robot knowledge lives in ``robokit/robots/<name>/robot.yaml``)."""

import ast
from pathlib import Path

from robokit.robots import list_robots

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("robokit", "envs", "policies", "firmware_bridge")
# the robots package itself (its registry names the default robot); the firmware's code generators and
# the hardware driver belong to the servo arm's own firmware (it drives that robot and no other)
ALLOWED = {
    "robokit/robots/registry.py",
    "firmware_bridge/gen_defaults.py",
    "firmware_bridge/gen_vectors.py",
    "firmware_bridge/hardware_arm.py",
}


def test_no_module_names_a_robot():
    names = set(list_robots())
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED or ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                if isinstance(node, ast.Constant) and node.value in names:
                    found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "robot names outside the robot folders:\n" + "\n".join(found)
