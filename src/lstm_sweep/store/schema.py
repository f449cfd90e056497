"""What a store holds, declared once: the tables, their columns (with what Python values each
may hold and where a result's value comes from), the schema versions and their migrations, and
the reading of one row back into a :class:`~lstm_sweep.study.results.TrialResult`, every value
checked (types, ranges, JSON that is not absurdly nested), and the reading of the other tables'
rows (rungs, claims, the meta table's plans and dataset fingerprints). Each row is validated by
one function here, which ``lstm-sweep check`` and every reader share: whatever a reader refuses,
``check`` reports."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ..errors import LstmSweepError
from ..study import (
    DEFAULT_TASK,
    MAX_SEED,
    MAX_STEPS,
    TASKS,
    CurvePoint,
    Status,
    TrialConfig,
    TrialResult,
    metric_of,
)

# 1: trials, curves, environments, meta. 2: + claims (concurrent drivers). 3: the status
# 'pruned' (a search's stopped trials) allowed by the trials table's CHECK. Older stores are
# migrated when opened for writing, and read as they are. 4: the curves' validation metric
# (``val``: measured every ``val_every`` steps where asked; NULL elsewhere).
SCHEMA_VERSION = 4
APPLICATION_ID = 0x4C535357  # "LSSW": marks the file as an lstm-sweep store

NUMBER = (int, float)
# JSON nested deeper than this is not a configuration or an environment (ours are 3 deep); it
# is refused before anything walks it (Python's own recursion gives out near 1,000 levels).
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Column:
    """One column of the trials table: its SQL, what Python values it holds, and where a result's
    value comes from. ``field``: a :class:`TrialResult` field of the same name (read back)."""

    name: str
    sql: str
    types: type | tuple[type, ...]
    nullable: bool
    value: Callable[[TrialResult, dict], object]
    field: bool = False


def _of_result(name: str, sql: str, types, nullable: bool = False) -> Column:
    return Column(
        name,
        sql + ("" if nullable else " NOT NULL"),
        types,
        nullable,
        lambda r, _: getattr(r, name),
        field=True,
    )


def _of_config(name: str, sql: str, types) -> Column:
    """A configuration field, kept in its own column for queries (the JSON is the truth)."""
    return Column(name, sql + " NOT NULL", types, False, lambda r, _: getattr(r.config, name))


_STATUSES = ", ".join(f"'{s}'" for s in Status)
# THE declaration of a stored trial: the schema, the insert and the checks on reading all come
# from it. (Order = the version-1 table's, which old stores have.)
COLUMNS = (
    Column("key", "TEXT PRIMARY KEY", str, False, lambda r, _: r.config.key()),
    Column(
        "config", "TEXT NOT NULL", str, False, lambda r, _: json.dumps(r.config.to_dict(), sort_keys=True)
    ),
    _of_config("hidden", "INTEGER", int),
    _of_config("lr", "REAL", NUMBER),
    _of_config("seed", "INTEGER", int),
    _of_config("steps", "INTEGER", int),
    _of_config("batch_size", "INTEGER", int),
    _of_config("init", "TEXT", str),
    _of_config("precision", "TEXT", str),
    _of_config("dataset", "TEXT", str),
    Column(
        "status", f"TEXT NOT NULL CHECK (status IN ({_STATUSES}))", str, False, lambda r, _: str(r.status)
    ),
    _of_result("test_accuracy", "REAL", NUMBER, nullable=True),
    _of_result("val_accuracy", "REAL", NUMBER, nullable=True),
    _of_result("train_loss", "REAL", NUMBER, nullable=True),
    _of_result("steps_done", "INTEGER", int),
    _of_result("wall_s", "REAL", NUMBER),
    _of_result("cpu_s", "REAL", NUMBER),
    _of_result("peak_mem_bytes", "INTEGER", int, nullable=True),
    _of_result("device", "TEXT", str),
    _of_result("error", "TEXT", str, nullable=True),
    _of_result("started_at", "REAL", NUMBER),
    Column("finished_at", "REAL NOT NULL", NUMBER, False, lambda _, x: x["finished_at"]),
    Column("env_id", "TEXT REFERENCES environments(id)", str, True, lambda _, x: x["env_id"]),
    _of_result("engine", "TEXT", str),  # single | fused
    _of_result("group_size", "INTEGER", int),  # trials trained together (times are per trial)
)
TRIAL_COLUMNS = tuple(c.name for c in COLUMNS)
_BY_NAME = {c.name: c for c in COLUMNS}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL            -- JSON: package versions, python, platform, device
);
CREATE TABLE IF NOT EXISTS trials (
    {("," + chr(10) + "    ").join(f"{c.name} {c.sql}" for c in COLUMNS)}
);
CREATE TABLE IF NOT EXISTS curves (
    key TEXT NOT NULL REFERENCES trials(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL,
    accuracy REAL,
    val REAL,
    PRIMARY KEY (key, step)
) WITHOUT ROWID;
"""

# Version 2: which driver is training which trial right now.
CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,         -- the trial being trained
    driver TEXT NOT NULL,         -- the driver's id (random, one per run)
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,               -- the process's start time (tells a reused pid apart)
    claimed_at REAL NOT NULL,
    heartbeat REAL NOT NULL
)
"""
CLAIM_COLUMNS = ("key", "driver", "host", "pid", "pid_start", "claimed_at", "heartbeat")
# Version 3: SQLite cannot change a CHECK constraint in place; the trials table is rebuilt
# (foreign keys off around the transaction, so that dropping the old table does not cascade to
# the curves; the curves' REFERENCES trials(key) then names the new table).
_TRIALS_V3 = SCHEMA.split("CREATE TABLE IF NOT EXISTS trials (", 1)[1].split(");", 1)[0]
# Version 3 also keeps each pruned trial's validation accuracy at every rung it stopped at, so
# that a search started again ranks exactly as it did (a trial's row holds only its last rung).
# No foreign key: a trial's row is replaced as it goes on, its rungs stay.
RUNGS = """
CREATE TABLE IF NOT EXISTS rungs (
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    val_accuracy REAL,
    PRIMARY KEY (key, step)
) WITHOUT ROWID
"""
REBUILD_TRIALS = [
    f"CREATE TABLE trials_v3 ({_TRIALS_V3})",
    f"INSERT INTO trials_v3 ({', '.join(TRIAL_COLUMNS)}) SELECT {', '.join(TRIAL_COLUMNS)} FROM trials",
    "DROP TABLE trials",
    "ALTER TABLE trials_v3 RENAME TO trials",
    RUNGS,
]
# version -> statements that bring a store of version - 1 up to it (run in one transaction)
MIGRATIONS = {2: [CLAIMS], 3: REBUILD_TRIALS, 4: ["ALTER TABLE curves ADD COLUMN val REAL"]}
# migrations that rebuild a table, run with foreign keys off (SQLite's own recipe)
REBUILDS = {3}
TABLES = ("meta", "environments", "trials", "curves")  # every version has them


CURVE_COLUMNS = ("key", "step", "loss", "accuracy", "val")  # val: schema 4 on


def curve_columns(version: int) -> tuple[str, ...]:
    """The curves table's columns in a store of schema ``version``."""
    return CURVE_COLUMNS if version >= 4 else CURVE_COLUMNS[:-1]


def curve_select(version: int) -> str:
    """What a reader selects from the curves table of a store of schema ``version``: every one
    of :data:`CURVE_COLUMNS`, NULL for those the version lacks."""
    have = curve_columns(version)
    return ", ".join(c if c in have else "NULL" for c in CURVE_COLUMNS)


# meta rows "dataset:<name>" hold the fingerprint of the data trials of that name were trained on
DATASET_META = "dataset:"
# meta rows "plan:<driver id>" hold what a driver set out to do (for the live page)
PLAN_META = "plan:"


# --------------------------------------------------------------------------- reading values


def _depth(value: object) -> int:
    """How deep lists and dicts nest in ``value`` (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if d > MAX_JSON_DEPTH:
                break
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def load_json(text: object, what: str) -> object:
    """``text`` parsed as JSON, refused (ValueError naming ``what``) when it is not text, not
    JSON, or nested deeper than :data:`MAX_JSON_DEPTH`."""
    if not isinstance(text, str):
        raise ValueError(f"{what} is not text")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply to be read") from None
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON ({e})") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _check_value(name: str, value: object) -> str | None:
    column = _BY_NAME[name]
    types, nullable = column.types, column.nullable
    if value is None:
        return None if nullable else f"{name} is NULL"
    if isinstance(value, bool) or not isinstance(value, types):
        return (
            f"{name} holds {type(value).__name__} {str(value)[:30]!r}, not a number"
            if types in (int, NUMBER)
            else f"{name} holds {type(value).__name__}, not text"
        )
    if isinstance(value, float) and name not in ("train_loss",) and not math.isfinite(value):
        return f"{name} is {value}"
    return None


# what each number of a stored trial may be: an accuracy is a fraction, times and sizes are not
# negative (a number outside is a damaged or hand-edited row, not a result). A trial's
# test_accuracy and val_accuracy hold its task's metric: a fraction for accuracy, a loss
# (bits per character, MSE, nats) for the others (see accuracy_range).
_RANGES = {
    "test_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "wall_s": (0.0, math.inf),
    "cpu_s": (0.0, math.inf),
    "peak_mem_bytes": (0, math.inf),
    "started_at": (0.0, math.inf),
    "finished_at": (0.0, math.inf),
    "steps_done": (0, math.inf),
    "group_size": (1, math.inf),
}
FRACTION = (0.0, 1.0)  # an accuracy
LOSS = (0.0, math.inf)  # a loss: finite (checked apart) and not negative
_METRIC_COLUMNS = ("test_accuracy", "val_accuracy")


def accuracy_range(config: TrialConfig) -> tuple[float, float]:
    """Where a trial's metric values (``test_accuracy``, ``val_accuracy``, a curve point's
    ``accuracy``) may lie: :data:`FRACTION` for an accuracy task, :data:`LOSS` for the others."""
    return FRACTION if metric_of(config).name == "accuracy" else LOSS


def range_of_config(text: object) -> tuple[float, float]:
    """:func:`accuracy_range` of a stored configuration (its JSON text), read without building
    the trial: for a reader of curves that has no trial at hand. A configuration that cannot be
    read gives :data:`FRACTION` (its row is refused anyway)."""
    try:
        raw = load_json(text, "config")
    except ValueError:
        return FRACTION
    task = raw.get("task", DEFAULT_TASK) if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(task, str):
        return FRACTION
    info = TASKS.get(task)
    metric = info.metric if info is not None else raw.get("task_metric")
    return FRACTION if metric in (None, "", "accuracy") else LOSS


def _check_range(d: dict, config: TrialConfig | None = None) -> str | None:
    """What is out of range in row ``d`` (None: nothing); its metric columns by ``config``'s
    metric (None: an accuracy's)."""
    metric = FRACTION if config is None else accuracy_range(config)
    for name, (low, high) in _RANGES.items():
        if name in _METRIC_COLUMNS:
            low, high = metric
        v = d[name]
        if v is not None and not low <= v <= high:
            return f"{name} {v!r:.30} is out of range ({low:g} to {high:g})"
    return None


def result_from_row(d: dict, curve: tuple[CurvePoint, ...] = ()) -> TrialResult:
    """A :class:`TrialResult` from one ``trials`` row (a dict by column), every field checked.

    Raises:
        ValueError: what is wrong with the row (the caller names the store and the row).
    """
    for name in TRIAL_COLUMNS:
        if name not in d:
            raise ValueError(f"column {name} is missing")
        problem = _check_value(name, d[name])
        if problem:
            raise ValueError(problem)
    raw = load_json(d["config"], "config")
    if not isinstance(raw, dict):
        raise ValueError("config is not a JSON object")
    required = {"hidden", "lr"}
    if required - raw.keys():
        raise ValueError(f"config lacks {', '.join(sorted(required - raw.keys()))}")
    try:
        config = TrialConfig.from_dict(raw)
    except (LstmSweepError, TypeError, ValueError) as e:
        raise ValueError(f"config is invalid ({str(e)[:200]})") from None
    if config.key() != d["key"]:
        raise ValueError("config does not match the row's key (edited by hand?)")
    try:
        status = Status(d["status"])
    except ValueError:
        raise ValueError(f"unknown status {d['status']!r:.30}") from None
    problem = _check_range(d, config) or _check_curve_range(curve, accuracy_range(config))
    if problem:
        raise ValueError(problem)
    if d["steps_done"] > config.steps:
        raise ValueError(f"steps_done {d['steps_done']} is more than the trial's {config.steps} steps")
    if status is Status.PRUNED:  # a search stopped it at a rung: see TrialResult's Status
        if d["test_accuracy"] is not None:
            raise ValueError("a pruned trial holds a test accuracy (a search's stopped trial has none)")
        if d["val_accuracy"] is None:
            raise ValueError("a pruned trial holds no validation accuracy (what its search ranked it by)")
        if not 1 <= d["steps_done"] < config.steps:
            raise ValueError(
                f"a pruned trial stopped after {d['steps_done']} of its "
                f"{config.steps} steps (a rung lies between the first and the "
                "last step)"
            )
    loss = d["train_loss"]
    if status is Status.DONE and loss is not None and not math.isfinite(loss):
        raise ValueError(f"train_loss is {loss} in a trial that is done (not diverged)")
    return TrialResult(
        config=config, status=status, curve=curve, **{c.name: d[c.name] for c in COLUMNS if c.field}
    )


def _curve_range_problem(
    step: object, acc: float | None, accuracy_range: tuple[float, float], name: str = "accuracy"
) -> str | None:
    """What is wrong with a curve point's ``acc`` (its ``name``: ``accuracy`` or ``val``) for a
    metric of ``accuracy_range``."""
    if acc is None:
        return None
    low, high = accuracy_range
    if (low, high) == FRACTION and not low <= acc <= high:
        return f"curve {name} at step {step} is {acc!r:.30}, not a fraction"
    if not (math.isfinite(acc) and low <= acc <= high):
        return f"curve {name} at step {step} is {acc!r:.30}, not a finite number from {low:g}"
    return None


def _check_curve_range(curve: tuple[CurvePoint, ...], accuracy_range: tuple[float, float]) -> str | None:
    """The first point of ``curve`` whose metric is out of ``accuracy_range`` (None: none)."""
    for p in curve:
        problem = _curve_range_problem(p.step, p.accuracy, accuracy_range) or _curve_range_problem(
            p.step, p.val, accuracy_range, "val"
        )
        if problem:
            return problem
    return None


def curve_point(
    step: object,
    loss: object,
    acc: object,
    accuracy_range: tuple[float, float] = FRACTION,
    val: object = None,
) -> CurvePoint:
    """One stored point of a learning curve, its types checked (ValueError if not).

    ``accuracy_range``: where its ``accuracy`` (the trial's metric) may lie: a fraction (an
    accuracy task's, the default), or :data:`LOSS` (finite, not negative) where the trial is
    not known yet or scores a loss; :func:`result_from_row` checks it again by the trial's
    metric; ``val`` (the validation metric at that step, None where not measured) lies in the
    same range."""
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"curve step {step!r:.30} is not an integer")
    for name, v in (("loss", loss), ("accuracy", acc), ("val", val)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, NUMBER)):
            raise ValueError(f"curve {name} at step {step} holds {v!r:.30}, not a number")
    loss_v, acc_v = cast("float | None", loss), cast("float | None", acc)  # checked above
    val_v = cast("float | None", val)
    problem = _curve_range_problem(step, acc_v, accuracy_range) or _curve_range_problem(
        step, val_v, accuracy_range, "val"
    )
    if problem:
        raise ValueError(problem)
    return CurvePoint(step, loss_v, acc_v, val_v)


def check_curve(result: TrialResult) -> str | None:
    """What is wrong with a stored trial's curve: a step outside ``1..steps_done`` or off its
    display steps, or a loss that is not finite in a trial that did not diverge."""
    c = result.config
    for p in result.curve:
        if not 1 <= p.step <= result.steps_done or p.step % c.display_step:
            return (
                f"curve step {p.step} is outside the trial's steps (1 to "
                f"{result.steps_done}, every {c.display_step})"
            )
        if p.loss is not None and not math.isfinite(p.loss) and result.status is not Status.DIVERGED:
            return f"curve loss at step {p.step} is {p.loss} in a trial that did not diverge"
    return None


# --------------------------------------------------------------------------- the other tables


def _is_int(v: object, low: int, high: int) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and low <= v <= high


MAX_TIME = 1e15  # seconds (31 million years): beyond it, a number is no time or duration


def _is_time(v: object) -> bool:
    """A number from 0 to :data:`MAX_TIME` (seconds since the epoch, or a duration; not NaN,
    and compared as it is: an integer too large for a float is refused, not converted)."""
    return not isinstance(v, bool) and isinstance(v, NUMBER) and 0 <= v <= MAX_TIME


RUNGS_QUERY = (
    "SELECT r.key, r.step, r.val_accuracy, t.config FROM rungs AS r LEFT JOIN trials AS t ON t.key = r.key"
)


def rung_from_row(key: object, step: object, val: object, config: object = None) -> tuple[str, int, float]:
    """One ``rungs`` row (a pruned trial's validation metric at the step a search stopped it),
    checked: a trial key, a step from 1 to :data:`MAX_STEPS`, its trial's metric (an accuracy: a
    fraction; a loss: finite and not negative; by the trial's stored ``config``, as
    :data:`RUNGS_QUERY` reads it beside the rung: :func:`range_of_config`).

    Raises:
        ValueError: what is wrong with the row.
    """
    if not isinstance(key, str):
        raise ValueError(f"rung of key {key!r:.30}: the key is not text")
    if not _is_int(step, 1, MAX_STEPS):
        raise ValueError(f"rung step {step!r:.30} is not a step (1 to {MAX_STEPS:,})")
    low, high = range_of_config(config)
    if (
        val is None
        or isinstance(val, bool)
        or not isinstance(val, NUMBER)
        or not math.isfinite(val)
        or not low <= val <= high
    ):
        what = "is not a fraction" if (low, high) == FRACTION else "is not a finite loss >= 0"
        raise ValueError(f"rung at step {step}: validation metric {val!r:.30} {what}")
    return key, cast(int, step), float(val)


def plan_from_row(name: object, value: object) -> dict:
    """One meta row ``plan:<driver id>`` (:meth:`Store.record_plan`), checked: a JSON object
    with the driver's ``host`` (text) and ``pid``, ``started_at`` (a time), the grid's ``keys``
    (text), ``pending`` (a count) and ``eta_s`` (seconds, or null). Returns those fields only.

    Raises:
        ValueError: what is wrong with the row.
    """
    what = f"plan {str(name)[:50]}"
    if not isinstance(name, str) or not name.startswith(PLAN_META) or name == PLAN_META:
        raise ValueError(f"{what}: its name is not plan:<driver id>")
    plan = load_json(value, what)
    if not isinstance(plan, dict):
        raise ValueError(f"{what} is not a JSON object")
    checks = {  # field -> (what it must be, the test)
        "host": ("text", lambda v: isinstance(v, str)),
        "pid": ("a process id", lambda v: _is_int(v, 0, MAX_SEED)),
        "started_at": ("a time", _is_time),
        "keys": (
            "a list of trial keys",
            lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v),
        ),
        "pending": ("a count", lambda v: _is_int(v, 0, MAX_SEED)),
        "eta_s": ("seconds or null", lambda v: v is None or _is_time(v)),
    }
    for field, (noun, ok) in checks.items():
        if field not in plan:
            raise ValueError(f"{what} lacks {field}")
        if not ok(plan[field]):
            raise ValueError(f"{what}: {field} holds {str(plan[field])[:30]!r}, not {noun}")
    out = {field: plan[field] for field in checks}
    label = plan.get("label")  # optional: what the plan is where it is not a sweep
    if isinstance(label, str) and 0 < len(label) <= 200:
        out["label"] = label
    return out


def environment_from_row(env_id: object, info: object) -> dict:
    """One ``environments`` row (its id, its JSON text) as the environment it records.

    Raises:
        ValueError: the text is not JSON, or not a JSON object (the message names the row).
    """
    env = load_json(info, f"environment {str(env_id)[:20]}")
    if not isinstance(env, dict):
        raise ValueError(f"environment {str(env_id)[:20]}: not a JSON object")
    return env


def fingerprint_from_row(name: object, value: object) -> str:
    """One meta row ``dataset:<name>``: the fingerprint of that dataset's data (hex digits).

    Raises:
        ValueError: what is wrong with the row.
    """
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 128
        or any(c not in "0123456789abcdef" for c in value)
    ):
        raise ValueError(
            f"dataset {str(name)[len(DATASET_META) :][:50]!r}: its fingerprint "
            f"{value!r:.30} is not hex digits"
        )
    return value


def claim_problem(row: tuple) -> str | None:
    """What is wrong with one ``claims`` row (by :data:`CLAIM_COLUMNS`), None if nothing: text
    key, driver and host, a pid, its start time (text, or null), times that are times. A claim
    with a problem is no live claim (a driver takes its trial over; ``check`` reports it)."""
    d = dict(zip(CLAIM_COLUMNS, row))
    for name in ("key", "driver", "host"):
        if not isinstance(d[name], str):
            return f"its {name} {d[name]!r:.30} is not text"
    if not _is_int(d["pid"], 0, MAX_SEED):
        return f"its pid {d['pid']!r:.30} is not a number"
    if d["pid_start"] is not None and not isinstance(d["pid_start"], str):
        return f"its pid start {d['pid_start']!r:.30} is not text"
    for name in ("claimed_at", "heartbeat"):
        if not _is_time(d[name]):
            return f"its {name} {d[name]!r:.30} is not a time"
    return None


def result_problem(result: TrialResult, finished_at: float = 0.0) -> str | None:
    """What a reader (and ``check``) would refuse in ``result`` once stored: its row, each
    point of its curve, the curve against the trial (None: nothing). What a driver asks before
    it commits a result, so that nothing is stored that ``check`` calls damaged."""
    row = dict(
        zip(TRIAL_COLUMNS, (c.value(result, {"finished_at": finished_at, "env_id": None}) for c in COLUMNS))
    )
    try:
        scale = accuracy_range(result.config)
        curve = tuple(curve_point(p.step, p.loss, p.accuracy, scale, p.val) for p in result.curve)
        stored = result_from_row(row, curve)
    except ValueError as e:
        return str(e)
    steps = [p.step for p in curve]
    if len(set(steps)) != len(steps):
        return "its curve holds a step twice"
    return check_curve(stored)
