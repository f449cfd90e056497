"""The fused engine: K trials of one width trained as ONE batched model.

Trials that share everything but learning rate and seed (same width, batch, steps, dataset, init,
precision, batch order) keep their parameters stacked, one row per model, in a single flat buffer
``theta [K, P]``; each time step is one batched matmul over all K models, and one vectorised TF-form
optimizer (:class:`~lstm_sweep.training.optim.TFOptimizer`, any of TF's) updates all of them with a per-model
learning rate.
Every model draws its own initial weights from its own seed exactly as the single-trial path does
(:func:`~lstm_sweep.training.model.tf_init_params`), and all models see the same batches, so a fused trial
equals the unfused trial with the same seed and batch order to float tolerance (tested).

The forward and backward passes are written out (a gradient test checks them against autograd):
the backward needs one small matmul per time step, and the weight gradients are two large
matmuls over all time steps at once. Models are independent blocks of every batched op, so a
model whose loss turns NaN cannot touch the others.

A task's :class:`~lstm_sweep.data.TaskShape` sets the input width and the head; with a target
at every step (``readout="every"``) the head reads every step's state (one matmul over all of
them) and its gradient enters the backward recurrence at each step (in the same ``baddbmm`` as
the recurrent one's, so no step costs more).

Internal gate order is (o, i, f, j): the three sigmoid gates first, the tanh candidate last, so each
is one contiguous slice. TF's kernel columns are (i, j, f, o).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...data import ROWS, TaskShape
from ...study import TrialConfig
from ..model import FORGET_BIAS, N_CLASSES, N_INPUT, tf_init_params
from ..optim import TFOptimizer
from ..param import grad_scale_row, readout_multiplier, rescale_init, scale_row
from .base import autocast, flat_targets

TF_TO_FUSED = (3, 0, 2, 1)  # fused block q takes TF block TF_TO_FUSED[q]


def param_shapes(
    hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, tuple[int, int]]:
    """Shapes of one model's parameters inside the flat buffer (per model, without K), for a
    task of ``n_input`` features and ``n_output`` head units (28 and 10: rows)."""
    return {
        "Wx": (n_input, 4 * hidden),
        "Wh": (hidden, 4 * hidden),
        "b": (1, 4 * hidden),
        "Wo": (hidden, n_output),
        "bo": (1, n_output),
    }


def param_count(hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES) -> int:
    return sum(a * b for a, b in param_shapes(hidden, n_input, n_output).values())


def views(
    buf: torch.Tensor, hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, torch.Tensor]:
    """Named (K, rows, cols) views into a flat (K, P) buffer (no copies)."""
    out, offset = {}, 0
    k = buf.shape[0]
    for name, (rows, cols) in param_shapes(hidden, n_input, n_output).items():
        out[name] = buf[:, offset : offset + rows * cols].view(k, rows, cols)
        offset += rows * cols
    return out


def _tf_cols_to_fused(m: torch.Tensor, hidden: int) -> torch.Tensor:
    blocks = m.split(hidden, dim=-1)
    return torch.cat([blocks[q] for q in TF_TO_FUSED], dim=-1)


def _fused_cols_to_tf(m: torch.Tensor, hidden: int) -> torch.Tensor:
    blocks = m.split(hidden, dim=-1)
    return torch.cat([blocks[TF_TO_FUSED.index(t)] for t in range(4)], dim=-1)


def pack_tf_params(params: Sequence[dict[str, torch.Tensor]], hidden: int) -> torch.Tensor:
    """Stack K models' TF-form parameters (K, b, W_out, b_out) into a flat (K, P) buffer."""
    rows = []
    for p in params:
        kernel = _tf_cols_to_fused(p["K"], hidden)
        n_input = kernel.shape[0] - hidden
        rows.append(
            torch.cat(
                [
                    kernel[:n_input].reshape(-1),
                    kernel[n_input:].reshape(-1),
                    _tf_cols_to_fused(p["b"], hidden),
                    p["W_out"].reshape(-1),
                    p["b_out"],
                ]
            )
        )
    return torch.stack(rows)


def unpack_tf_params(
    theta: torch.Tensor, hidden: int, k: int, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, torch.Tensor]:
    """Model ``k`` of a flat buffer in TF form (inverse of :func:`pack_tf_params`)."""
    v = {name: t[k] for name, t in views(theta, hidden, n_input, n_output).items()}
    return {
        "K": _fused_cols_to_tf(torch.cat([v["Wx"], v["Wh"]]), hidden),
        "b": _fused_cols_to_tf(v["b"][0], hidden),
        "W_out": v["Wo"].clone(),
        "b_out": v["bo"][0].clone(),
    }


def _forget_bias(hidden: int, like: torch.Tensor) -> torch.Tensor:
    fb = torch.zeros(4 * hidden, dtype=like.dtype, device=like.device)
    fb[2 * hidden : 3 * hidden] = FORGET_BIAS  # the f block of (o, i, f, j)
    return fb


def forward(
    p: dict[str, torch.Tensor],
    x: torch.Tensor,
    keep: bool = False,
    readout_mult: float = 1.0,
    every: bool = False,
):
    """Logits (K, B, O) of all K models on the shared batch x (B, T, I) from the last state,
    or with ``every`` (K, T * B, O) from every step's state (rows time-major, (t, b)); the
    states are multiplied by ``readout_mult`` (mup's 1/m) before the head.

    With ``keep``, also returns what the backward pass needs (hidden and cell states, gates).
    """
    k, hidden = p["Wh"].shape[0], p["Wh"].shape[1]
    batch, steps, _ = x.shape
    xt = x.transpose(0, 1)  # (T, B, I): time-major
    bias = p["b"] + _forget_bias(hidden, x)  # (K, 1, 4H)
    xproj = torch.einsum("tbd,kdg->tkbg", xt, p["Wx"]) + bias  # (T, K, B, 4H)
    h = x.new_zeros(k, batch, hidden)
    c = x.new_zeros(k, batch, hidden)
    hs, cs, sig, cand = [h], [c], [], []
    for t in range(steps):
        z = torch.baddbmm(xproj[t], h, p["Wh"])  # (K, B, 4H)
        s = torch.sigmoid(z[..., : 3 * hidden])  # o, i, f
        g = torch.tanh(z[..., 3 * hidden :])  # candidate j
        o, i, f = s.split(hidden, dim=-1)
        c = f * c + i * g
        h = o * torch.tanh(c)
        if keep or every:
            hs.append(h)
        if keep:
            cs.append(c)
            sig.append(s)
            cand.append(g)
    read = _all_states(hs, every) if every else h
    if readout_mult != 1.0:
        read = read * readout_mult
    logits = torch.baddbmm(p["bo"], read, p["Wo"])  # (K, B, O) or (K, T * B, O)
    return (logits, (xt, hs, cs, sig, cand)) if keep else logits


def _all_states(hs: list[torch.Tensor], every: bool) -> torch.Tensor:
    """The states after each step, hs[1:] (each (K, B, H)), as (K, T * B, H) time-major."""
    k, batch, hidden = hs[-1].shape
    return torch.stack(hs[1:], 1).reshape(k, (len(hs) - 1) * batch, hidden)


def backward(
    p: dict[str, torch.Tensor], cache, dlogits: torch.Tensor, readout_mult: float = 1.0, every: bool = False
) -> list[torch.Tensor]:
    """Gradients (Wx, Wh, b, Wo, bo), each (K, rows, cols), given dLoss/dlogits (K, B, O), or
    with ``every`` (K, T * B, O) time-major: the head's gradient then enters the recurrence at
    each step."""
    xt, hs, cs, sig, cand = cache
    steps, batch, n_input = xt.shape
    k, hidden = p["Wh"].shape[0], p["Wh"].shape[1]
    read = _all_states(hs, every) if every else hs[-1]
    if readout_mult != 1.0:
        read = read * readout_mult
    d_wo = torch.bmm(read.transpose(1, 2), dlogits)  # (K, H, O)
    d_bo = dlogits.sum(1, keepdim=True)
    dh = torch.bmm(dlogits, p["Wo"].transpose(1, 2))  # (K, B, H), or (K, T * B, H)
    if readout_mult != 1.0:
        dh = dh * readout_mult
    d_read = dh.view(k, steps, batch, hidden) if every else None  # the head's dh_t (every step)
    if d_read is not None:
        dh = d_read[:, -1]
    dc = torch.zeros_like(dh)
    wh_t = p["Wh"].transpose(1, 2)
    dzs: list[torch.Tensor] = [torch.empty(0)] * steps  # each replaced, last to first
    for t in reversed(range(steps)):
        o, i, f = sig[t].split(hidden, dim=-1)
        g, c_prev = cand[t], cs[t]
        tc = torch.tanh(cs[t + 1])
        dc = dc + dh * o * (1 - tc * tc)
        dz = torch.cat(
            [dh * tc * o * (1 - o), dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g)],
            dim=-1,
        )  # (K, B, 4H) in (o, i, f, j)
        dzs[t] = dz
        if t:
            dh = torch.bmm(dz, wh_t) if d_read is None else torch.baddbmm(d_read[:, t - 1], dz, wh_t)
            dc = dc * f
    dz_all = torch.stack(dzs, 1).reshape(k, steps * batch, 4 * hidden)  # rows (t, b)
    h_prev = torch.stack(hs[:steps], 1).reshape(k, steps * batch, hidden)
    d_wh = torch.bmm(h_prev.transpose(1, 2), dz_all)  # (K, H, 4H)
    d_wx = torch.matmul(xt.reshape(steps * batch, n_input).t(), dz_all)  # (K, I, 4H)
    d_b = dz_all.sum(1, keepdim=True)
    return [d_wx, d_wh, d_b, d_wo, d_bo]


def losses_and_dlogits(
    logits: torch.Tensor, y: torch.Tensor, loss: str = "xent"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each model's mean loss (K,) over the targets ``y`` (N,) and its gradient w.r.t. the
    logits (K, N, O): softmax cross-entropy (``"xent"``) or squared error of the one output
    (``"mse"``)."""
    if loss == "mse":
        diff = logits[..., 0] - y  # (K, N)
        return diff.square().mean(-1), (diff * (2.0 / y.shape[0]))[..., None]
    logp = torch.log_softmax(logits, dim=-1)  # (K, N, O)
    onehot = torch.nn.functional.one_hot(y, logits.shape[-1]).to(logp.dtype)  # (N, O)
    losses = -(logp * onehot).sum(-1).mean(-1)
    return losses, (torch.exp(logp) - onehot) / y.shape[0]


class FusedEngine:
    """K LSTMs of one width: a flat parameter buffer, written-out passes, one vectorised TF
    optimizer with a rate per model."""

    name = "fused"
    stacked = True  # row j of each tensor is model j
    graphable = True  # its step can be replayed from a CUDA graph (lstm_sweep.training.graphs)

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device, shape: TaskShape = ROWS):
        first = configs[0]
        self.hidden = first.hidden
        self.k = len(configs)
        self.shape, self.every = shape, shape.readout == "every"
        self.dims = (shape.n_input, shape.n_output)
        params = [
            rescale_init(c, tf_init_params(c.hidden, torch.Generator().manual_seed(c.seed), *self.dims))
            for c in configs
        ]
        self.theta = pack_tf_params(params, self.hidden).to(device)
        self.readout_mult = readout_multiplier(first)
        lr = torch.tensor([[c.lr] for c in configs], device=device)  # (K, 1)
        shapes = param_shapes(self.hidden, *self.dims)
        scales = scale_row(first, shapes)  # per-tensor rates (mup)
        consts = grad_scale_row(first, shapes)  # per-tensor optimizer constants (mup-opt)
        self.optimizer = TFOptimizer(
            first.optimizer,
            [self.theta],
            lr,
            first.opt,
            None if scales is None else [scales.to(device)],
            None if consts is None else [consts.to(device)],
        )
        self.params = [self.theta]
        self.amp = lambda: autocast(first.precision, device)
        self.bf16 = first.precision == "bf16"
        self._frozen: dict[int, torch.Tensor] = {}

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        p = self._views()
        y = flat_targets(y, self.shape)
        with self.amp():  # written-out passes: no autograd, so the backward is inside too
            logits, cache = forward(p, x, keep=True, readout_mult=self.readout_mult, every=self.every)
            losses, dlogits = losses_and_dlogits(logits.float(), y, self.shape.loss)
            grads = backward(p, cache, dlogits, self.readout_mult, self.every)
        grad = torch.cat([g.reshape(self.k, -1).float() for g in grads], dim=1)  # (K, P), theta's layout
        self.optimizer.step([grad])
        return losses

    def _views(self) -> dict[str, torch.Tensor]:
        """The parameters' views; in bf16, the recurrent kernel cast once per step. Autocast
        casts an fp32 argument of every baddbmm and bmm anew (it caches only leaves that need
        gradients), and ``Wh`` enters only those: 56 casts of an H x 4H matrix a step (at 4096
        units, more time than the matmuls). One cast gives the same bf16 values, so the same
        numbers."""
        p = views(self.theta, self.hidden, *self.dims)
        if self.bf16:
            p["Wh"] = p["Wh"].to(torch.bfloat16)
        return p

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return forward(self._views(), x, readout_mult=self.readout_mult, every=self.every)

    def freeze(self, k: int) -> None:
        """Model k diverged: keep its parameters as they are now for evaluation."""
        self._frozen[k] = self.theta[k].clone()

    def finish(self) -> None:
        for k, row in self._frozen.items():
            self.theta[k] = row

    def tf_params(self, k: int) -> dict[str, torch.Tensor]:
        return unpack_tf_params(self.theta.cpu(), self.hidden, k, *self.dims)


def fused_engine(configs: Sequence[TrialConfig], device: torch.device, shape: TaskShape = ROWS):
    """The fused engine for ``configs``' cell on a task of ``shape``: :class:`FusedEngine`
    (LSTM, written-out passes) or :class:`~.fused_cells.FusedCellEngine` (GRU, basic RNN)."""
    if configs[0].cell == "lstm":
        return FusedEngine(configs, device, shape)
    from .fused_cells import FusedCellEngine

    return FusedCellEngine(configs, device, shape)
