"""A task of your own, worked: count the spikes hidden in a noisy sequence.

Each sequence is 50 steps of one feature: Gaussian noise (standard deviation 0.1), plus a spike
of height 1 at 0 to 4 distinct steps drawn at random. The model reads all 50 steps and says at
the last how many spikes it saw: five classes, so a model that learned nothing scores 20 %.
An LSTM learns to count them (to add up what it saw) within a few hundred steps of training.

Run it as a task of a sweep, by its file (or, importable, as ``spikes:Spikes``)::

    lstm-sweep run --task examples/tasks/spikes.py:Spikes --hidden 32 --lr 0.01 --steps 500

The class follows :class:`lstm_sweep.data.Task`'s contract: its attributes say what the data
is and how it is scored; ``splits(seed)`` makes the data, the same for the same seed.
"""

from __future__ import annotations

import numpy as np

from lstm_sweep.data import Task


class Spikes(Task):
    """How many spikes (0 to 4) hide in 50 steps of noise?"""

    n_input = 1  # one feature per step
    n_output = 5  # classes: 0, 1, 2, 3 or 4 spikes
    length = 50  # time steps
    readout = "last"  # one answer per sequence, after the last step
    loss = "xent"
    metric = "accuracy"
    chance = 0.2  # one class in five
    version = "1"  # the task's identity: change it when the data changes

    max_spikes = 4
    noise = 0.1
    sizes = {"train": 20_000, "validation": 1_000, "test": 1_000}

    def splits(self, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each split from its own stream of ``seed``: inputs float32 (N, 50, 1), targets int64
        (N,) spike counts."""
        return {
            part: self.make(n, np.random.default_rng([seed, number]))
            for number, (part, n) in enumerate(self.sizes.items())
        }

    def make(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        counts = rng.integers(0, self.max_spikes + 1, size=n)  # (N,)
        order = np.argsort(rng.random((n, self.length)), axis=1)  # (N, T): a random order of steps
        spikes = np.zeros((n, self.length), np.float32)
        # the first `count` steps of each sequence's random order get a spike: distinct steps
        spikes[np.arange(n)[:, None], order] = np.arange(self.length) < counts[:, None]
        x = rng.normal(0.0, self.noise, size=(n, self.length)).astype(np.float32) + spikes
        return x[:, :, None], counts.astype(np.int64)
