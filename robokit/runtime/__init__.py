"""The runtime: run a policy file on any Arm (the layer above the drivers and the policies).

``bringup`` (the one "get the arm ready" sequence), ``loop`` (DeployLoop: ticks on absolute deadlines),
``policy_checks`` (what a policy file must agree with before the arm is touched), ``task_state`` (where a
task's observation entries come from on a real arm), ``summary`` and ``deploy_log`` (what a run writes),
``session`` (``run_deploy``: the library function behind ``robokit deploy``), ``fake_arm`` (FakeArm, for
unit tests of logic only). Import the submodules: this package stays light (``robokit arm`` uses
``bringup`` without importing torch).
"""
