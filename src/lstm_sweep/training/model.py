"""The LSTM classifier of the seed: read a digit row by row, classify from the last step.

The canonical parameters are TF's (docs/DESIGN.md, "Fidelity"): ``BasicLSTMCell`` keeps one kernel
``K [28 + H, 4H]`` with gate columns ``i, j, f, o`` (j = candidate) and a bias ``b [4H]``; the
step is

    z = [x_t, h_{t-1}] @ K + b;  i, j, f, o = split(z, 4)
    c_t = c_{t-1} * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);  h_t = tanh(c_t) * sigmoid(o)

PyTorch's ``nn.LSTM`` (oneDNN / cuDNN kernels) computes the same with gate rows ``i, f, g, o``,
``weight_ih [4H, 28]``, ``weight_hh [4H, H]`` and two biases. :func:`load_tf_params` maps one onto
the other: the constant ``forget_bias`` goes into ``bias_ih``'s forget slice (its gradient is the
same as b's), and ``bias_hh`` is zeroed and frozen (two trainable biases would move the effective
bias twice as fast under Adam).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import IMAGE_SHAPE, N_CLASSES, ROWS, TaskShape
from ..study import CELLS, TrialConfig
from .param import readout_multiplier, rescale_init

N_STEPS, N_INPUT = IMAGE_SHAPE  # rows per image (time steps), pixels per row (inputs): the
# homework's shape (data.ROWS); other tasks give theirs (data.TaskShape: n_input, n_output, readout)
FORGET_BIAS = 1.0

# TF column blocks (i, j, f, o) -> PyTorch row blocks (i, f, g, o): torch block t takes TF block
# TF_TO_TORCH[t].
TF_TO_TORCH = (0, 2, 1, 3)


class LSTMClassifier(nn.Module):
    """x (B, T, I) -> logits (B, O) from the LSTM's last output, or with ``readout="every"``
    (T * B, O) from every step's output, rows in time-major order (t, b).

    Args:
        hidden: the LSTM's units.
        n_input: features per step (28: a row of pixels).
        n_output: the head's units (10 classes).
        readout: ``"last"`` or ``"every"`` (:class:`~lstm_sweep.data.TaskShape`).
    """

    def __init__(self, hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES, readout: str = "last"):
        super().__init__()
        self.hidden, self.n_input, self.readout = hidden, n_input, readout
        self.lstm = nn.LSTM(n_input, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_output)  # weight (O, H) = W_out^T; bias = b_out
        self.readout_mult = 1.0  # mup's 1/m on the readout's input (lstm_sweep.training.param)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(x)  # (B, T, H)
        return _head(self.out, outputs, self.readout, self.readout_mult)


def _times(h: torch.Tensor, mult: float) -> torch.Tensor:
    return h if mult == 1.0 else h * mult


def _head(out: nn.Linear, states: torch.Tensor, readout: str, mult: float) -> torch.Tensor:
    """The head on the last of ``states`` (B, T, H) -> (B, O), or on every one -> (T * B, O)
    in time-major order; the states multiplied by ``mult`` first."""
    if readout == "every":
        return out(_times(states.transpose(0, 1).reshape(-1, states.shape[-1]), mult))
    return out(_times(states[:, -1], mult))


def glorot_limit(hidden: int, n_input: int = N_INPUT) -> float:
    """TF glorot_uniform bound for the kernel [I + H, 4H]: sqrt(6 / (fan_in + fan_out))."""
    return math.sqrt(6.0 / (n_input + hidden + 4 * hidden))


def tf_init_params(
    hidden: int, generator: torch.Generator, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, torch.Tensor]:
    """Draw TF-shaped initial parameters as the seed's graph does.

    Args:
        hidden: the LSTM's units.
        generator: the trial's seeded generator (drawn from in this order: K, W_out, b_out).
        n_input, n_output: the task's features per step and head units (28 and 10: rows).

    Returns:
        ``K [I + H, 4H]`` ~ U(-limit, limit) (glorot), ``b [4H]`` = 0, ``W_out [H, O]`` and
        ``b_out [O]`` ~ N(0, 1) (``tf.random_normal``: std 1, which makes wide nets fragile at
        high learning rates, as in Table 1).
    """
    limit = glorot_limit(hidden, n_input)
    kernel = (torch.rand(n_input + hidden, 4 * hidden, generator=generator) * 2 - 1) * limit
    return {
        "K": kernel,
        "b": torch.zeros(4 * hidden),
        "W_out": torch.randn(hidden, n_output, generator=generator),
        "b_out": torch.randn(n_output, generator=generator),
    }


def _tf_to_torch_rows(m: torch.Tensor, hidden: int) -> torch.Tensor:
    """TF (..., 4H) columns in order i, j, f, o -> PyTorch (4H, ...) rows in order i, f, g, o."""
    blocks = m.split(hidden, dim=-1)
    out = torch.cat([blocks[t] for t in TF_TO_TORCH], dim=-1)
    return out.T if out.dim() == 2 else out


def _torch_to_tf_cols(m: torch.Tensor, hidden: int) -> torch.Tensor:
    """Inverse of :func:`_tf_to_torch_rows` (PyTorch rows i, f, g, o -> TF columns i, j, f, o)."""
    blocks = (m.T if m.dim() == 2 else m).split(hidden, dim=-1)
    inverse = [TF_TO_TORCH.index(t) for t in range(4)]
    return torch.cat([blocks[t] for t in inverse], dim=-1)


def _param(module: nn.Module, name: str) -> torch.Tensor:
    """``module.<name>``, a parameter or buffer (typed: ``nn.Module``'s attributes are not)."""
    value = getattr(module, name)
    assert isinstance(value, torch.Tensor)
    return value


@torch.no_grad()
def load_tf_params(model: LSTMClassifier, params: dict[str, torch.Tensor]) -> None:
    """Copy TF-form parameters into ``model`` (see the module docstring for the mapping)."""
    h, n_input = model.hidden, model.n_input
    kernel = params["K"]
    _param(model.lstm, "weight_ih_l0").copy_(_tf_to_torch_rows(kernel[:n_input], h))
    _param(model.lstm, "weight_hh_l0").copy_(_tf_to_torch_rows(kernel[n_input:], h))
    bias = _tf_to_torch_rows(params["b"], h).clone()  # (4H,) in i, f, g, o
    bias[h : 2 * h] += FORGET_BIAS
    _param(model.lstm, "bias_ih_l0").copy_(bias)
    _param(model.lstm, "bias_hh_l0").zero_()
    _param(model.lstm, "bias_hh_l0").requires_grad_(False)
    model.out.weight.copy_(params["W_out"].T)
    model.out.bias.copy_(params["b_out"])


@torch.no_grad()
def tf_params(model: LSTMClassifier) -> dict[str, torch.Tensor]:
    """The model's parameters in TF form (inverse of :func:`load_tf_params`)."""
    h = model.hidden
    lstm = model.lstm
    kernel = torch.cat(
        [
            _torch_to_tf_cols(_param(lstm, "weight_ih_l0"), h),
            _torch_to_tf_cols(_param(lstm, "weight_hh_l0"), h),
        ],
        dim=0,
    )
    bias = _param(lstm, "bias_ih_l0") + _param(lstm, "bias_hh_l0")
    bias = bias.clone()
    bias[h : 2 * h] -= FORGET_BIAS
    return {
        "K": kernel.clone(),
        "b": _torch_to_tf_cols(bias, h).clone(),
        "W_out": model.out.weight.T.clone(),
        "b_out": model.out.bias.clone(),
    }


# --------------------------------------------------------------------------- GRU and RNN cells


class TFGRU(nn.Module):
    """TF 1.x ``GRUCell`` over a sequence (``rnn_cell_impl.py``, ``GRUCell.call``)::

        r, u = split(sigmoid([x_t, h] @ K_g + b_g), 2)      # gate kernel [I + H, 2H], bias 1.0
        c = tanh([x_t, r * h] @ K_c + b_c)                   # candidate kernel [I + H, H], bias 0
        h = u * h + (1 - u) * c

    The reset gate multiplies the state *before* the candidate's matmul, unlike ``nn.GRU`` (which
    applies it after), so this cell is written out.
    """

    def __init__(self, hidden: int, n_input: int = N_INPUT):
        super().__init__()
        self.hidden, self.n_input = hidden, n_input
        self.gate_kernel = nn.Parameter(torch.empty(n_input + hidden, 2 * hidden))
        self.gate_bias = nn.Parameter(torch.empty(2 * hidden))
        self.candidate_kernel = nn.Parameter(torch.empty(n_input + hidden, hidden))
        self.candidate_bias = nn.Parameter(torch.empty(hidden))

    def forward(self, x: torch.Tensor, every: bool = False) -> torch.Tensor:
        """x (B, T, I) -> the last state h (B, H), or with ``every`` all of them (B, T, H)."""
        n = self.n_input
        xg = x @ self.gate_kernel[:n] + self.gate_bias  # (B, T, 2H), all steps at once
        xc = x @ self.candidate_kernel[:n] + self.candidate_bias  # (B, T, H)
        hg, hc = self.gate_kernel[n:], self.candidate_kernel[n:]
        h = x.new_zeros(x.shape[0], self.hidden)
        states = []
        for t in range(x.shape[1]):
            r, u = torch.sigmoid(xg[:, t] + h @ hg).chunk(2, dim=-1)
            c = torch.tanh(xc[:, t] + (r * h) @ hc)
            h = u * h + (1 - u) * c
            if every:
                states.append(h)
        return torch.stack(states, 1) if every else h


class CellClassifier(nn.Module):
    """x (B, T, I) -> logits (B, O) from the last state of a GRU (``TFGRU``) or a basic RNN
    (``nn.RNN`` with tanh: TF's ``BasicRNNCell`` ``h = tanh([x_t, h] @ K + b)``); with
    ``readout="every"``, (T * B, O) from every state in time-major order, as
    :class:`LSTMClassifier`."""

    def __init__(
        self, cell: str, hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES, readout: str = "last"
    ):
        super().__init__()
        self.cell, self.hidden, self.n_input, self.readout = cell, hidden, n_input, readout
        self.rnn = TFGRU(hidden, n_input) if cell == "gru" else nn.RNN(n_input, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_output)
        self.readout_mult = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cell == "gru":
            if self.readout == "every":
                return _head(self.out, self.rnn(x, every=True), "every", self.readout_mult)
            return self.out(_times(self.rnn(x), self.readout_mult))
        outputs, _ = self.rnn(x)  # (B, T, H)
        return _head(self.out, outputs, self.readout, self.readout_mult)


def _glorot(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    """TF's default initializer for a kernel: glorot_uniform, limit sqrt(6 / (rows + cols))."""
    limit = math.sqrt(6.0 / (rows + cols))
    return (torch.rand(rows, cols, generator=generator) * 2 - 1) * limit


def tf_cell_params(
    cell: str, hidden: int, generator: torch.Generator, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, torch.Tensor]:
    """TF-form initial parameters of a GRU (``gate_kernel``, ``gate_bias`` = 1.0,
    ``candidate_kernel``, ``candidate_bias`` = 0) or RNN (``K``, ``b`` = 0), and the seed's
    N(0, 1) head ``W_out [H, O]``, ``b_out [O]``, drawn in that order; kernels ``[I + H, cols]``
    with ``I = n_input`` (28, 10: rows)."""
    i = n_input + hidden
    if cell == "gru":
        params = {
            "gate_kernel": _glorot(i, 2 * hidden, generator),
            "gate_bias": torch.ones(2 * hidden),
            "candidate_kernel": _glorot(i, hidden, generator),
            "candidate_bias": torch.zeros(hidden),
        }
    else:
        params = {"K": _glorot(i, hidden, generator), "b": torch.zeros(hidden)}
    params["W_out"] = torch.randn(hidden, n_output, generator=generator)
    params["b_out"] = torch.randn(n_output, generator=generator)
    return params


@torch.no_grad()
def load_cell_params(model: CellClassifier, params: dict[str, torch.Tensor]) -> None:
    """TF-form parameters into a GRU/RNN classifier (the RNN's second bias zeroed and frozen,
    as for the LSTM)."""
    if model.cell == "gru":
        for name in ("gate_kernel", "gate_bias", "candidate_kernel", "candidate_bias"):
            getattr(model.rnn, name).copy_(params[name])
    else:
        _param(model.rnn, "weight_ih_l0").copy_(params["K"][: model.n_input].T)
        _param(model.rnn, "weight_hh_l0").copy_(params["K"][model.n_input :].T)
        _param(model.rnn, "bias_ih_l0").copy_(params["b"])
        _param(model.rnn, "bias_hh_l0").zero_()
        _param(model.rnn, "bias_hh_l0").requires_grad_(False)
    model.out.weight.copy_(params["W_out"].T)
    model.out.bias.copy_(params["b_out"])


def build_trial_model(config: TrialConfig, shape: TaskShape = ROWS) -> nn.Module:
    """A fresh classifier for ``config`` on a task of ``shape``: :func:`build_model` with its
    parametrization (per-tensor init scales and the readout multiplier,
    :mod:`lstm_sweep.training.param`) and readout init."""
    if (config.param, config.readout) == ("sp", "normal"):
        return build_model(config.hidden, config.init, config.seed, config.cell, shape)
    generator = torch.Generator().manual_seed(config.seed)  # init is tf (TrialConfig checks)
    dims = (shape.n_input, shape.n_output)
    model: LSTMClassifier | CellClassifier
    if config.cell == "lstm":
        model = LSTMClassifier(config.hidden, *dims, shape.readout)
        load_tf_params(model, rescale_init(config, tf_init_params(config.hidden, generator, *dims)))
    else:
        model = CellClassifier(config.cell, config.hidden, *dims, shape.readout)
        params = tf_cell_params(config.cell, config.hidden, generator, *dims)
        load_cell_params(model, rescale_init(config, params))
    model.readout_mult = readout_multiplier(config)
    return model


def build_model(hidden: int, init: str, seed: int, cell: str = "lstm", shape: TaskShape = ROWS) -> nn.Module:
    """A fresh classifier of ``cell`` with ``init`` = ``"tf"`` (seed-faithful) or ``"pytorch"``
    (PyTorch's default initialisation: U(±1/√H) for the cell, ``nn.Linear``'s for the head),
    for a task of ``shape`` (its ``n_input``, ``n_output`` and ``readout``; rows by default).

    The weights depend only on ``(cell, hidden, init, seed)`` and the shape, drawn on the CPU so
    that every device starts from the same numbers.

    Raises:
        ValueError: an unknown ``cell`` or ``init``.
    """
    generator = torch.Generator().manual_seed(seed)
    dims = (shape.n_input, shape.n_output)
    if cell != "lstm":
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}")
        if init == "tf":
            classifier = CellClassifier(cell, hidden, *dims, shape.readout)
            load_cell_params(classifier, tf_cell_params(cell, hidden, generator, *dims))
            return classifier
        if init == "pytorch":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                classifier = CellClassifier(cell, hidden, *dims, shape.readout)
                if cell == "gru":  # as nn.GRU initialises itself
                    bound = 1 / math.sqrt(hidden)
                    with torch.no_grad():
                        for p in classifier.rnn.parameters():
                            p.uniform_(-bound, bound)
                return classifier
        raise ValueError(f"unknown init {init!r}")
    if init == "tf":
        model = LSTMClassifier(hidden, *dims, shape.readout)
        load_tf_params(model, tf_init_params(hidden, generator, *dims))
        return model
    if init == "pytorch":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return LSTMClassifier(hidden, *dims, shape.readout)
    raise ValueError(f"unknown init {init!r}")
