"""A store's trials as TensorBoard runs, written with TensorBoard's own event-file writer and
its summary protocol buffers (what PyTorch's ``SummaryWriter`` writes, without loading torch
to report), so that TensorBoard's Scalars (learning curves, with its
smoothing) and HParams dashboards (table, parallel coordinates, scatter matrix of the trials'
fields against their accuracies) show our sweeps without us rewriting them.

One run (a folder) per trial, named by the fields that vary across the store and its key
(``hidden=64 lr=0.01 seed=0 (1a2b3c4d)``): its learning curve as ``batch/loss`` and
``batch/accuracy`` (or the task's metric) at each recorded step, ``validation/accuracy`` where
it was measured (``--val-every``), its test and validation values at its last step, and its
fields as hyperparameters (those that vary; every value each can take as its domain) with
those values as the HParams metrics. Needs ``tensorboard`` (``pip install
'lstm-sweep[tensorboard]'``).
"""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..study import TrialResult, is_finite_number, metric_of
from . import checks
from .export import field_value, field_values
from .outputs import OutputError, place_mode
from .text import printable

_EVENTS = "events.out.tfevents."
_UNSAFE = re.compile(r"[^A-Za-z0-9=._+\- ()]")


def _tensorboard():
    """TensorBoard's writer, its summary protos and its HParams plugin's (none loads TF)."""
    try:
        from google.protobuf import struct_pb2  # tensorboard's own dependency
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ConfigError(
            "export to TensorBoard needs tensorboard: pip install 'lstm-sweep[tensorboard]'"
        ) from None
    return EventFileWriter, event_pb2, summary_pb2, api_pb2, metadata, plugin_data_pb2, struct_pb2


class _Run:
    """One run's event file: scalars at steps, and the HParams plugin's three summaries."""

    def __init__(self, folder: Path):
        self.writer, self.event, self.summary, self.api, self.meta, self.data, self.struct = _tensorboard()
        self.writer = self.writer(str(folder))

    def scalar(self, tag: str, value: float, step: int) -> None:
        value_pb = self.summary.Summary.Value(tag=tag, simple_value=float(value))
        self._add(self.summary.Summary(value=[value_pb]), step)

    def _add(self, summary, step: int = 0) -> None:
        self.writer.add_event(self.event.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _plugin(self, tag: str, **content) -> None:
        data = self.data.HParamsPluginData(version=self.meta.PLUGIN_DATA_VERSION, **content)
        plugin = self.summary.SummaryMetadata.PluginData(
            plugin_name=self.meta.PLUGIN_NAME, content=data.SerializeToString()
        )
        value = self.summary.Summary.Value(tag=tag, metadata=self.summary.SummaryMetadata(plugin_data=plugin))
        self._add(self.summary.Summary(value=[value]))

    def hparams(self, values: dict, domains: dict, metrics: Sequence[str]) -> None:
        """The trial's fields (``values``: numbers or text), each field's values (``domains``:
        text fields), and the tags of the metrics the dashboard sets against them."""
        api = self.api
        infos = []
        for name, value in values.items():
            if isinstance(value, str):
                domain = self.struct.ListValue()
                domain.extend(domains.get(name, [value]))
                infos.append(api.HParamInfo(name=name, type=api.DATA_TYPE_STRING, domain_discrete=domain))
            else:
                infos.append(api.HParamInfo(name=name, type=api.DATA_TYPE_FLOAT64))
        experiment = api.Experiment(
            hparam_infos=infos, metric_infos=[api.MetricInfo(name=api.MetricName(tag=t)) for t in metrics]
        )
        self._plugin(self.meta.EXPERIMENT_TAG, experiment=experiment)
        start = self.data.SessionStartInfo()
        for name, value in values.items():
            if isinstance(value, str):
                start.hparams[name].string_value = value
            else:
                start.hparams[name].number_value = float(value)
        self._plugin(self.meta.SESSION_START_INFO_TAG, session_start_info=start)
        end = self.data.SessionEndInfo(status=api.STATUS_SUCCESS)
        self._plugin(self.meta.SESSION_END_INFO_TAG, session_end_info=end)

    def close(self) -> None:
        self.writer.close()


def run_name(r: TrialResult, varied: Sequence[str]) -> str:
    """A trial's run folder: its varied fields and its key's start, safe as a file name."""
    parts = " ".join(f"{f}={field_value(r.config, f)}" for f in varied) or "trial"
    return f"{_UNSAFE.sub('_', printable(parts))[:150]} ({r.key[:8]})"


def check_tensorboard_target(path: str | Path, protect: Sequence[str | Path] = ()) -> Path:
    """Refuse (OutputError) a log folder TensorBoard runs may not be written in: a file, a
    FIFO or device, the store being read, or a folder whose parent does not exist."""
    path = Path(path)
    shown = printable(str(path))[:200]
    how = "pass path= with a folder (new, or a TensorBoard log folder to add the runs to)"
    mode = place_mode(path, how, protect)
    if mode is None:
        return path
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else "not a folder (a FIFO, socket or device)"
        raise OutputError(f"{shown} is {kind}; {how}")
    return path


def export_tensorboard(
    results: Sequence[TrialResult],
    path: str | Path,
    *,
    overwrite: bool = False,
    protect: Sequence[str | Path] = (),
) -> list[str]:
    """Write ``results`` as TensorBoard runs under the log folder ``path`` (made if new);
    returns the run names written.

    Raises:
        ConfigError: tensorboard is not installed; ``results`` not a list of TrialResult, or
            empty.
        OutputError: ``path`` may not be written (:func:`check_tensorboard_target`), or a
            trial's run is there already (``overwrite=True`` replaces its event files).
    """
    results = checks.results(results)
    checks.flag("overwrite", overwrite)
    if not results:
        raise ConfigError("no trials to export")
    root = check_tensorboard_target(path, protect)
    _tensorboard()  # refused before anything is written where it is not installed
    values, varied = field_values(results)
    names = {r.key: run_name(r, varied) for r in results}
    taken = [n for n in names.values() if (root / n).exists()]
    if taken and not overwrite:
        raise OutputError(
            f"{printable(str(path))[:200]} holds the run {printable(taken[0])!r} already; pass "
            "overwrite=True to replace the runs of these trials"
        )
    domains = {
        f: sorted({str(v) for v in values[f]})
        for f in varied
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[f])
    }
    domains["status"] = sorted({str(x.status) for x in results})
    root.mkdir(parents=True, exist_ok=True)
    for r in results:
        folder = root / names[r.key]
        if folder.is_dir():
            for old in folder.iterdir():  # only the event files a writer made: nothing else
                if old.name.startswith(_EVENTS) and old.is_file() and not old.is_symlink():
                    old.unlink()
        measure = metric_of(r.config)
        what = "accuracy" if measure.name == "accuracy" else measure.short
        run = _Run(folder)
        try:
            for p in r.curve:
                if is_finite_number(p.loss):
                    run.scalar("batch/loss", p.loss, p.step)  # type: ignore[arg-type]
                if is_finite_number(p.accuracy):
                    run.scalar(f"batch/{what}", p.accuracy, p.step)  # type: ignore[arg-type]
                if is_finite_number(p.val) and p.step != r.steps_done:  # the last: below
                    run.scalar(f"validation/{what}", p.val, p.step)  # type: ignore[arg-type]
            metrics = {}
            if is_finite_number(r.test_accuracy):
                metrics[f"test/{what}"] = float(r.test_accuracy)  # type: ignore[arg-type]
            if is_finite_number(r.val_accuracy):
                metrics[f"validation/{what}"] = float(r.val_accuracy)  # type: ignore[arg-type]
            for tag, value in metrics.items():
                run.scalar(tag, value, r.steps_done)
            hp = {f: _hparam(field_value(r.config, f), f in domains) for f in varied}
            hp["status"] = str(r.status)
            run.hparams(hp, domains, [f"test/{what}", f"validation/{what}"])
        finally:
            run.close()
    return [names[r.key] for r in results]


def _hparam(value: object, categorical: bool) -> object:
    """A field as TensorBoard's HParams takes it: text for a categorical one, else a number."""
    if categorical or not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return value
