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
matmuls over all time steps at once. Models are independent blocks of every batched op, so a model
whose loss turns NaN cannot touch the others.

Internal gate order is (o, i, f, j): the three sigmoid gates first, the tanh candidate last, so each
is one contiguous slice. TF's kernel columns are (i, j, f, o).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...study import TrialConfig
from ..model import FORGET_BIAS, N_CLASSES, N_INPUT, tf_init_params
from ..optim import TFOptimizer
from ..param import readout_multiplier, rescale_init, scale_row
from .base import autocast

TF_TO_FUSED = (3, 0, 2, 1)  # fused block q takes TF block TF_TO_FUSED[q]


def param_shapes(hidden: int) -> dict[str, tuple[int, int]]:
    """Shapes of one model's parameters inside the flat buffer (per model, without K)."""
    return {
        "Wx": (N_INPUT, 4 * hidden),
        "Wh": (hidden, 4 * hidden),
        "b": (1, 4 * hidden),
        "Wo": (hidden, N_CLASSES),
        "bo": (1, N_CLASSES),
    }


def param_count(hidden: int) -> int:
    return sum(a * b for a, b in param_shapes(hidden).values())


def views(buf: torch.Tensor, hidden: int) -> dict[str, torch.Tensor]:
    """Named (K, rows, cols) views into a flat (K, P) buffer (no copies)."""
    out, offset = {}, 0
    k = buf.shape[0]
    for name, (rows, cols) in param_shapes(hidden).items():
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
        rows.append(
            torch.cat(
                [
                    kernel[:N_INPUT].reshape(-1),
                    kernel[N_INPUT:].reshape(-1),
                    _tf_cols_to_fused(p["b"], hidden),
                    p["W_out"].reshape(-1),
                    p["b_out"],
                ]
            )
        )
    return torch.stack(rows)


def unpack_tf_params(theta: torch.Tensor, hidden: int, k: int) -> dict[str, torch.Tensor]:
    """Model ``k`` of a flat buffer in TF form (inverse of :func:`pack_tf_params`)."""
    v = {name: t[k] for name, t in views(theta, hidden).items()}
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


def forward(p: dict[str, torch.Tensor], x: torch.Tensor, keep: bool = False, readout_mult: float = 1.0):
    """Logits (K, B, 10) of all K models on the shared batch x (B, T, 28); the last state is
    multiplied by ``readout_mult`` (mup's 1/m) before the head.

    With ``keep``, also returns what the backward pass needs (hidden and cell states, gates).
    """
    k, hidden = p["Wh"].shape[0], p["Wh"].shape[1]
    batch, steps, _ = x.shape
    xt = x.transpose(0, 1)  # (T, B, 28): time-major
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
        if keep:
            hs.append(h)
            cs.append(c)
            sig.append(s)
            cand.append(g)
    read = h if readout_mult == 1.0 else h * readout_mult
    logits = torch.baddbmm(p["bo"], read, p["Wo"])  # (K, B, 10)
    return (logits, (xt, hs, cs, sig, cand)) if keep else logits


def backward(
    p: dict[str, torch.Tensor], cache, dlogits: torch.Tensor, readout_mult: float = 1.0
) -> list[torch.Tensor]:
    """Gradients (Wx, Wh, b, Wo, bo), each (K, rows, cols), given dLoss/dlogits (K, B, 10)."""
    xt, hs, cs, sig, cand = cache
    steps, batch, _ = xt.shape
    k, hidden = p["Wh"].shape[0], p["Wh"].shape[1]
    h_last = hs[-1] if readout_mult == 1.0 else hs[-1] * readout_mult
    d_wo = torch.bmm(h_last.transpose(1, 2), dlogits)  # (K, H, 10)
    d_bo = dlogits.sum(1, keepdim=True)
    dh = torch.bmm(dlogits, p["Wo"].transpose(1, 2))  # (K, B, H)
    if readout_mult != 1.0:
        dh = dh * readout_mult
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
            dh = torch.bmm(dz, wh_t)
            dc = dc * f
    dz_all = torch.stack(dzs, 1).reshape(k, steps * batch, 4 * hidden)  # rows (t, b)
    h_prev = torch.stack(hs[:steps], 1).reshape(k, steps * batch, hidden)
    d_wh = torch.bmm(h_prev.transpose(1, 2), dz_all)  # (K, H, 4H)
    d_wx = torch.matmul(xt.reshape(steps * batch, N_INPUT).t(), dz_all)  # (K, 28, 4H)
    d_b = dz_all.sum(1, keepdim=True)
    return [d_wx, d_wh, d_b, d_wo, d_bo]


def losses_and_dlogits(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softmax cross-entropy per model (K,) and its gradient w.r.t. the logits."""
    logp = torch.log_softmax(logits, dim=-1)  # (K, B, 10)
    onehot = torch.nn.functional.one_hot(y, N_CLASSES).to(logp.dtype)  # (B, 10)
    losses = -(logp * onehot).sum(-1).mean(-1)
    return losses, (torch.exp(logp) - onehot) / y.shape[0]


class FusedEngine:
    """K LSTMs of one width: a flat parameter buffer, written-out passes, one vectorised TF
    optimizer with a rate per model."""

    name = "fused"
    stacked = True  # row j of each tensor is model j
    graphable = True  # its step can be replayed from a CUDA graph (lstm_sweep.training.graphs)

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device):
        first = configs[0]
        self.hidden = first.hidden
        self.k = len(configs)
        params = [
            rescale_init(c, tf_init_params(c.hidden, torch.Generator().manual_seed(c.seed))) for c in configs
        ]
        self.theta = pack_tf_params(params, self.hidden).to(device)
        self.readout_mult = readout_multiplier(first)
        lr = torch.tensor([[c.lr] for c in configs], device=device)  # (K, 1)
        scales = scale_row(first, param_shapes(self.hidden))  # per-tensor rates (mup)
        self.optimizer = TFOptimizer(
            first.optimizer, [self.theta], lr, first.opt, None if scales is None else [scales.to(device)]
        )
        self.params = [self.theta]
        self.amp = lambda: autocast(first.precision, device)
        self.bf16 = first.precision == "bf16"
        self._frozen: dict[int, torch.Tensor] = {}

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        p = self._views()
        with self.amp():  # written-out passes: no autograd, so the backward is inside too
            logits, cache = forward(p, x, keep=True, readout_mult=self.readout_mult)
            losses, dlogits = losses_and_dlogits(logits.float(), y)
            grads = backward(p, cache, dlogits, self.readout_mult)
        grad = torch.cat([g.reshape(self.k, -1).float() for g in grads], dim=1)  # (K, P), theta's layout
        self.optimizer.step([grad])
        return losses

    def _views(self) -> dict[str, torch.Tensor]:
        """The parameters' views; in bf16, the recurrent kernel cast once per step. Autocast
        casts an fp32 argument of every baddbmm and bmm anew (it caches only leaves that need
        gradients), and ``Wh`` enters only those: 56 casts of an H x 4H matrix a step (at 4096
        units, more time than the matmuls). One cast gives the same bf16 values, so the same
        numbers."""
        p = views(self.theta, self.hidden)
        if self.bf16:
            p["Wh"] = p["Wh"].to(torch.bfloat16)
        return p

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return forward(self._views(), x, readout_mult=self.readout_mult)

    def freeze(self, k: int) -> None:
        """Model k diverged: keep its parameters as they are now for evaluation."""
        self._frozen[k] = self.theta[k].clone()

    def finish(self) -> None:
        for k, row in self._frozen.items():
            self.theta[k] = row

    def tf_params(self, k: int) -> dict[str, torch.Tensor]:
        return unpack_tf_params(self.theta.cpu(), self.hidden, k)


def fused_engine(configs: Sequence[TrialConfig], device: torch.device):
    """The fused engine for ``configs``' cell: :class:`FusedEngine` (LSTM, written-out passes) or
    :class:`~.fused_cells.FusedCellEngine` (GRU, basic RNN)."""
    if configs[0].cell == "lstm":
        return FusedEngine(configs, device)
    from .fused_cells import FusedCellEngine

    return FusedCellEngine(configs, device)
