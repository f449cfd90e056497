"""The internals of a model at its last time step, for the coordinate check.

:func:`probe` runs the TF-form parameters of one model (as the engines' ``tf_params`` return
them) over a batch with TF's formulas and returns every quantity of
:data:`~lstm_sweep.study.coords.QUANTITIES` at the last time step (a test checks its logits
against the engines' own).
"""

from __future__ import annotations

import torch

from .model import FORGET_BIAS


@torch.no_grad()
def probe(
    cell: str, params: dict[str, torch.Tensor], x: torch.Tensor, readout_mult: float = 1.0
) -> dict[str, torch.Tensor]:
    """``{"input", "recurrent", "preact", ["c",] "h", "logits"}`` of the last time step of a
    ``cell`` with TF-form ``params`` on ``x`` (B, T, I) (any task's inputs: token ids made
    one-hot first, :func:`~lstm_sweep.training.tasks.model_inputs`); the readout's input times
    ``readout_mult``. ``input`` and ``recurrent`` are the two matmuls whose sum (with the biases)
    is ``preact``, the arguments of the gates (for the GRU: both gates' and the candidate's).
    ``input`` is taken over every time step, not the last alone: a digit's last rows are mostly
    blank (MNIST's bottom row is all zeros), which would make it zero at every width. The
    logits are the last step's whatever the task's readout (with a target at every step, the
    last of them)."""
    batch, steps, n = x.shape  # n: the input rows of every kernel
    out: dict[str, torch.Tensor] = {}
    if cell == "lstm":
        kernel, bias = params["K"], params["b"]
        hidden = kernel.shape[1] // 4
        h = x.new_zeros(batch, hidden)
        c = x.new_zeros(batch, hidden)
        xall = x @ kernel[:n]  # (B, T, 4H)
        for t in range(steps):
            rec = h @ kernel[n:]
            z = xall[:, t] + rec + bias
            i, j, f, o = z.split(hidden, dim=-1)
            c = c * torch.sigmoid(f + FORGET_BIAS) + torch.sigmoid(i) * torch.tanh(j)
            h = torch.tanh(c) * torch.sigmoid(o)
        out.update(input=xall, recurrent=rec, preact=z, c=c, h=h)
    elif cell == "gru":
        kg, kc = params["gate_kernel"], params["candidate_kernel"]
        hidden = kc.shape[1]
        h = x.new_zeros(batch, hidden)
        xg_all, xc_all = x @ kg[:n], x @ kc[:n]
        for t in range(steps):
            rg = h @ kg[n:]
            zg = xg_all[:, t] + rg + params["gate_bias"]
            r, u = torch.sigmoid(zg).chunk(2, dim=-1)
            rc = (r * h) @ kc[n:]
            zc = xc_all[:, t] + rc + params["candidate_bias"]
            h = u * h + (1 - u) * torch.tanh(zc)
        out.update(
            input=torch.cat([xg_all, xc_all], -1),
            recurrent=torch.cat([rg, rc], -1),
            preact=torch.cat([zg, zc], -1),
            h=h,
        )
    elif cell == "rnn":
        kernel, bias = params["K"], params["b"]
        h = x.new_zeros(batch, kernel.shape[1])
        xall = x @ kernel[:n]
        for t in range(steps):
            rec = h @ kernel[n:]
            z = xall[:, t] + rec + bias
            h = torch.tanh(z)
        out.update(input=xall, recurrent=rec, preact=z, h=h)
    else:
        raise ValueError(f"unknown cell {cell!r}")
    out["logits"] = (h * readout_mult) @ params["W_out"] + params["b_out"]
    return out
