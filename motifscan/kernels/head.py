"""The dense head of the scans in float64, rounded to float32 once, without threads.

A float32 GEMM's rounding depends on how many rows share the call; in float64 a row's result
almost never changes the float32 it rounds to, so a window (or record) scores the same bits
whatever chunk and batch it falls in. A linear head (the default: dropout, then one ``Linear``) runs
as a small numba loop on the CPU, each row summed in a fixed order: torch's float64 GEMM would
start an OpenMP parallel region per batch, and on a busy machine its spinning threads wait for
descheduled ones (measured: 22 ms instead of 56 us per 500-window call with 2 threads). Other
heads (a hidden layer) run through torch in float64, on the scan's device (the CPU under MPS,
which has no float64).
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import numpy as np

from ..device import device_type, no_grad
from ..jit import njit

if TYPE_CHECKING:
    import torch

    from ..model import HeadParams

__all__ = ["Head"]


#: Up to this many tasks, each task's sum runs in a register (one dot product per task); above
#: it the tasks' sums run side by side in vector lanes. Measured per 20,000 windows x 32 filters:
#: 1 task 0.96 ms (lanes: 4.6 ms), 2 tasks 1.7 ms (6.7), 16 tasks 8.7 ms (lanes: 7.9).
FEW_TASKS = 4


def _linear_sigmoid(pooled, rows, weight, weight_t, bias, out):
    """``out[i] = sigmoid(relu(pooled[rows[i]]) @ weight.T + bias)`` in float64, rounded to float32.

    ``weight`` is the head's ``(T, F)`` and ``weight_t`` its transpose ``(F, T)``. Every task is
    summed over the filters in one fixed order (0, 1, ..., F - 1), whatever the batch, so a window
    scores the same bits in any chunk. A filter at or below 0 adds an exact +0.0 (a select, not a
    branch: the sign of the pooled maxima is unpredictable). With few tasks each sum is a scalar
    in a register; with many, the task loop is innermost and the sums share vector lanes.
    """
    F, T = weight_t.shape
    x = np.empty(F, dtype=np.float64)
    z = np.empty(T, dtype=np.float64)
    for i in range(rows.shape[0]):
        r = rows[i]
        for f in range(F):
            v = pooled[r, f]
            x[f] = np.float64(v) if v > 0 else 0.0
        if T <= FEW_TASKS:
            for t in range(T):
                acc = 0.0
                for f in range(F):
                    acc += x[f] * weight[t, f]
                z[t] = acc
        else:
            z[:] = 0.0
            for f in range(F):
                for t in range(T):
                    z[t] += x[f] * weight_t[f, t]
        for t in range(T):
            out[i, t] = 1.0 / (1.0 + math.exp(-(z[t] + bias[t])))


_linear_sigmoid_jit = njit(_linear_sigmoid)


class Head:
    """Probabilities ``(n, T)`` float32 from pooled filter maxima ``(N, F)`` (ReLU applied here).

    Parameters
    ----------
    head
        The model's head (:meth:`~motifscan.model.MotifCNN.head_params`; copied, in eval mode), or
        a linear head as numpy ``(weight (T, F), bias (T,))``
        (:meth:`~motifscan.model_file.ModelFile.linear_head`: no torch), for the CPU.
    device
        Where the pooled vectors live (the scan's device).
    """

    def __init__(self, head: HeadParams | tuple[np.ndarray, np.ndarray], device: torch.device | str) -> None:
        arrays = isinstance(head, tuple)
        self.numba = device_type(device) in ("cpu", "mps") and (arrays or head.is_linear)
        if arrays and not self.numba:
            raise ValueError("a head given as arrays runs on the CPU only")
        if self.numba:
            if not arrays:  # the module's one Linear, as arrays
                linear = head.linears[0]
                b = linear.bias
                head = (linear.weight.detach().cpu().double().numpy(),
                        b.detach().cpu().double().numpy() if b is not None else np.zeros(linear.out_features))
            self.weight = np.ascontiguousarray(head[0], dtype=np.float64)
            self.bias = np.array(head[1], dtype=np.float64)
            self.weight_t = np.ascontiguousarray(self.weight.T)
            self(np.zeros((1, self.weight.shape[1]), np.float32))  # compile (or load) it now
        else:
            import torch

            # MPS has no float64: there a non-linear head runs on the CPU
            self.device = torch.device("cpu") if torch.device(device).type == "mps" else torch.device(device)
            self.head64 = copy.deepcopy(head.module).to(self.device).double().eval()

    @no_grad
    def __call__(self, pooled: torch.Tensor | np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Probabilities of ``pooled[rows]`` (every row when ``rows`` is None) as float32 ``(n, T)``."""
        if self.numba:
            x = pooled if isinstance(pooled, np.ndarray) else pooled.float().cpu().numpy()  # bf16/fp16: exact
            x = np.ascontiguousarray(x, dtype=np.float32)
            idx = np.arange(len(x), dtype=np.int64) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
            out = np.empty((len(idx), self.weight.shape[0]), np.float64)
            if len(idx):
                _linear_sigmoid_jit(x, idx, self.weight, self.weight_t, self.bias, out)
            return out.astype(np.float32)
        import torch

        x = torch.as_tensor(pooled)
        if rows is not None:
            x = x.index_select(0, torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(x.device))
        z = self.head64(torch.relu(x).to(self.device).double())
        return torch.sigmoid(z).float().cpu().numpy()
