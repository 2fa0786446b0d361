"""Datasets in LeRobotDataset v3.0: writer, reader, recording expert episodes, replaying them in sim.

``record(env_id, out, episodes)`` writes a dataset (``robokit record``), ``read_dataset(root)`` reads the
tables and metadata of any v3.0 dataset, ``replay(root, episode)`` redoes a recorded episode in sim
(``robokit replay``). A bad dataset is one ``DatasetError``. Layout: ``format.py``; docs/datasets.md.
"""

from robokit.policies.datasets.format import DatasetError
from robokit.policies.datasets.reader import LeRobotDatasetReader, read_dataset
from robokit.policies.datasets.record import VIEWS, RecordError, RecordStopped, record
from robokit.policies.datasets.replay import TOLERANCE, replay
from robokit.policies.datasets.writer import DatasetWriter

__all__ = [
    "TOLERANCE",
    "VIEWS",
    "DatasetError",
    "DatasetWriter",
    "LeRobotDatasetReader",
    "RecordError",
    "RecordStopped",
    "read_dataset",
    "record",
    "replay",
]
