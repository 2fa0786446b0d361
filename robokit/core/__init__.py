"""robokit's core: what sim and hardware share, imported by every layer above and importing none.

The RobotSpec type (``robot_spec``; each robot's values are in ``robokit.robots``), the Arm contract and
its state (``arm``), units and hardware constants (``units``), run-folder file names (``run_files``), the
servo model (``servo``), kinematics, the Controller that turns actions into joint targets (``control``),
Safety (``safety``), the Observer (``observer``) and the PyBullet client lifecycle (``bullet_client``).
"""
