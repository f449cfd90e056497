"""The fused engine for TF 1.x's ``GRUCell`` and ``BasicRNNCell``: K trials of one width as ONE
batched model, like :mod:`.fused` for the LSTM.

The K models' parameters are rows of one flat buffer ``theta [K, P]`` in TF's own layout (a
GRU's ``gate_kernel``, ``gate_bias``, ``candidate_kernel``, ``candidate_bias``; an RNN's ``K``,
``b``; then the N(0, 1) head), each drawn from its trial's seed exactly as the single engine draws
it (:func:`~lstm_sweep.training.model.tf_cell_params`). Each time step is one batched matmul over all K
models; the gradient comes from autograd over the batched graph (the sum of the K mean losses:
model k's parameters only ever meet model k's loss, so a model whose loss turns NaN cannot touch
the others), and one vectorised TF-form optimizer updates all K with per-model learning rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...data import ROWS, TaskShape
from ...study import TrialConfig
from ..model import N_CLASSES, N_INPUT, tf_cell_params
from ..optim import TFOptimizer
from ..param import grad_scale_row, readout_multiplier, rescale_init, scale_row
from .base import autocast, flat_targets, task_losses


def cell_shapes(
    cell: str, hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, tuple[int, int]]:
    """Shapes of one model's parameters inside the flat buffer, in TF's names and layout, for a
    task of ``n_input`` features and ``n_output`` head units (28 and 10: rows)."""
    i = n_input + hidden
    if cell == "gru":
        shapes = {
            "gate_kernel": (i, 2 * hidden),
            "gate_bias": (1, 2 * hidden),
            "candidate_kernel": (i, hidden),
            "candidate_bias": (1, hidden),
        }
    elif cell == "rnn":
        shapes = {"K": (i, hidden), "b": (1, hidden)}
    else:
        raise ValueError(f"no fused GRU/RNN form for cell {cell!r}")
    return {**shapes, "W_out": (hidden, n_output), "b_out": (1, n_output)}


def cell_views(
    buf: torch.Tensor, cell: str, hidden: int, n_input: int = N_INPUT, n_output: int = N_CLASSES
) -> dict[str, torch.Tensor]:
    """Named (K, rows, cols) views into a flat (K, P) buffer (no copies)."""
    out, offset = {}, 0
    for name, (rows, cols) in cell_shapes(cell, hidden, n_input, n_output).items():
        out[name] = buf[:, offset : offset + rows * cols].view(buf.shape[0], rows, cols)
        offset += rows * cols
    return out


def pack_cell_params(params: Sequence[dict[str, torch.Tensor]], cell: str, hidden: int) -> torch.Tensor:
    """Stack K models' TF-form parameters into a flat (K, P) buffer."""
    names = cell_shapes(cell, hidden)  # (the names and their order: the same for every shape)
    return torch.stack([torch.cat([p[n].reshape(-1) for n in names]) for p in params])


def cell_forward(
    p: dict[str, torch.Tensor], x: torch.Tensor, cell: str, readout_mult: float = 1.0, every: bool = False
) -> torch.Tensor:
    """Logits (K, B, O) of all K models on the shared batch x (B, T, I) from the last state, or
    with ``every`` (K, T * B, O) from every step's state (time-major), by TF's formulas::

    GRU: r, u = split(sigmoid([x_t, h] @ gate_kernel + gate_bias), 2)
         c = tanh([x_t, r * h] @ candidate_kernel + candidate_bias); h = u h + (1 - u) c
    RNN: h = tanh([x_t, h] @ K + b)
    """
    batch, steps, n_input = x.shape
    states = []
    if cell == "gru":
        kg, kc = p["gate_kernel"], p["candidate_kernel"]
        hidden = kc.shape[2]
        xg = torch.einsum("btd,kdg->tkbg", x, kg[:, :n_input]) + p["gate_bias"]
        xc = torch.einsum("btd,kdg->tkbg", x, kc[:, :n_input]) + p["candidate_bias"]
        hg, hc = kg[:, n_input:], kc[:, n_input:]
        h = x.new_zeros(kg.shape[0], batch, hidden)
        for t in range(steps):
            r, u = torch.sigmoid(torch.baddbmm(xg[t], h, hg)).chunk(2, dim=-1)
            c = torch.tanh(torch.baddbmm(xc[t], r * h, hc))
            h = u * h + (1 - u) * c
            if every:
                states.append(h)
    else:
        k = p["K"]
        xk = torch.einsum("btd,kdg->tkbg", x, k[:, :n_input]) + p["b"]
        hk = k[:, n_input:]
        h = x.new_zeros(k.shape[0], batch, k.shape[2])
        for t in range(steps):
            h = torch.tanh(torch.baddbmm(xk[t], h, hk))
            if every:
                states.append(h)
    if every:  # (K, T * B, H), rows (t, b)
        h = torch.stack(states, 1).reshape(h.shape[0], steps * batch, h.shape[2])
    if readout_mult != 1.0:  # mup's 1/m on the readout's input
        h = h * readout_mult
    return torch.baddbmm(p["b_out"], h, p["W_out"])


def _generator(config: TrialConfig) -> torch.Generator:
    """The generator a trial's initial weights are drawn from (its seed), as the single engine's."""
    return torch.Generator().manual_seed(config.seed)


class FusedCellEngine:
    """K GRU or basic-RNN models of one width: a flat parameter buffer, batched passes,
    autograd, one vectorised TF-form optimizer."""

    name = "fused"
    stacked = True  # row j of each tensor is model j
    graphable = True  # its step can be replayed from a CUDA graph (lstm_sweep.training.graphs)

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device, shape: TaskShape = ROWS):
        first = configs[0]
        self.cell, self.hidden, self.k = first.cell, first.hidden, len(configs)
        self.shape, self.dims = shape, (shape.n_input, shape.n_output)
        params = [
            rescale_init(c, tf_cell_params(c.cell, c.hidden, _generator(c), *self.dims)) for c in configs
        ]
        self.theta = pack_cell_params(params, self.cell, self.hidden).to(device)
        self.theta.requires_grad_(True)
        self.readout_mult = readout_multiplier(first)
        lr = torch.tensor([[c.lr] for c in configs], device=device)  # (K, 1)
        shapes = cell_shapes(self.cell, self.hidden, *self.dims)
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
        self._frozen: dict[int, torch.Tensor] = {}

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        p = cell_views(self.theta, self.cell, self.hidden, *self.dims)
        return cell_forward(p, x, self.cell, self.readout_mult, self.shape.readout == "every")

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.theta.grad = None
        y = flat_targets(y, self.shape)
        with self.amp():
            logits = self._logits(x)
        if self.shape.loss == "xent":
            logp = torch.log_softmax(logits.float(), dim=-1)  # (K, N, O)
            losses = -logp.gather(-1, y.expand(self.k, -1).unsqueeze(-1)).squeeze(-1).mean(-1)
        else:
            losses = task_losses(logits.float(), y, self.shape.loss)
        losses.sum().backward()  # model k's gradient is d(loss_k)/d(theta_k)
        grad = self.theta.grad
        assert grad is not None  # theta requires grad, and the loss depends on it
        self.optimizer.step([grad])
        return losses.detach()

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return self._logits(x)

    @torch.no_grad()
    def freeze(self, k: int) -> None:
        """Model k diverged: keep its parameters as they are now for evaluation."""
        self._frozen[k] = self.theta[k].clone()

    @torch.no_grad()
    def finish(self) -> None:
        for k, row in self._frozen.items():
            self.theta[k] = row

    def tf_params(self, k: int) -> dict[str, torch.Tensor]:
        """Model ``k``'s parameters in TF form (as :func:`tf_cell_params` returns them)."""
        views = cell_views(self.theta.detach().cpu(), self.cell, self.hidden, *self.dims)
        return {
            n: (v[k][0] if n in ("gate_bias", "candidate_bias", "b", "b_out") else v[k]).clone()
            for n, v in views.items()
        }
