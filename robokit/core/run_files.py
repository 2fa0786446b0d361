"""The names of the files and folders robokit writes, each defined once (docs/training.md "The run
folder", docs/hardware.md "First deploy").

``train --out RUN``: RUN/policy.safetensors, config.yaml, evals.jsonl, tb/, checkpoints/step-<N>/
{model.zip, replay_buffer.pkl, vecnormalize.pkl, state.json} and checkpoints/latest.
``eval --out DIR``: DIR/eval.json, videos/, joints.png, training.png, report.html.
``robokit report DIR``: DIR/report.html (and its report-*.png plots) for any of these folders.
``deploy --log DIR``: DIR/ticks.jsonl, summary.json, joints.png.
"""

from __future__ import annotations

# a training run
POLICY_FILE = "policy.safetensors"  # the exported policy (robokit.policies.load_policy)
CONFIG_FILE = "config.yaml"  # the resolved TrainConfig
EVALS_FILE = "evals.jsonl"  # one JSON object per periodic evaluation during training
TENSORBOARD_DIR = "tb"
CHECKPOINTS_DIR = "checkpoints"
LATEST_CHECKPOINT_FILE = "latest"  # in CHECKPOINTS_DIR: the name of the newest complete checkpoint
CHECKPOINT_MODEL_FILE = "model.zip"
CHECKPOINT_REPLAY_FILE = "replay_buffer.pkl"
CHECKPOINT_VECNORMALIZE_FILE = "vecnormalize.pkl"
CHECKPOINT_STATE_FILE = "state.json"

# an evaluation
EVAL_FILE = "eval.json"
VIDEOS_DIR = "videos"
TRAINING_PLOT_FILE = "training.png"
REPORT_FILE = "report.html"  # the page a browser opens (robokit.policies.report)

# a sweep (robokit sweep --out DIR)
STUDY_FILE = "study.journal"  # the Optuna study (JournalStorage in a file)
BEST_FILE = "best.yaml"  # the best trial's settings, for `robokit train --config`

# a deploy log
TICKS_FILE = "ticks.jsonl"
SUMMARY_FILE = "summary.json"

JOINTS_PLOT_FILE = "joints.png"  # eval: the first episode's joints; deploy: commanded vs reported
