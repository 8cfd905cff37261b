"""How the decoder sees the number: label attention (seqDRAW) or an RNN summary (rnnDRAW)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def digit_vectors(labels: torch.Tensor, lengths: torch.Tensor, position_from: str, with_position: bool,
                  dtype: torch.dtype = torch.float32):
    """labels [B, Lmax] (padded with -1), lengths [B] -> d [B, Lmax, 10 or 20] and a validity mask.

    d_i = [one-hot digit, one-hot position]. Counting positions from the right gives the units
    digit the same position code whatever the length, matching right-aligned images."""
    B, Lmax = labels.shape
    idx = torch.arange(Lmax, device=labels.device).expand(B, Lmax)
    valid = idx < lengths[:, None]
    d = F.one_hot(labels.clamp(min=0), 10).to(dtype) * valid[..., None]
    if not with_position:
        return d, valid
    pos = (lengths[:, None] - 1 - idx) if position_from == "right" else idx
    p = F.one_hot(pos.clamp(0, 9), 10).to(dtype) * valid[..., None]
    return torch.cat([d, p], dim=-1), valid


class LabelAttention(nn.Module):
    """Soft attention over the digit vectors, driven by the previous decoder state (eq. 15-17)."""

    def __init__(self, dec_size: int, label_dim: int, attention_size: int):
        super().__init__()
        self.W_a = nn.Linear(dec_size, attention_size, bias=False)
        self.U_a = nn.Linear(label_dim, attention_size)
        self.v_a = nn.Linear(attention_size, 1, bias=False)

    def precompute(self, d: torch.Tensor) -> torch.Tensor:
        return self.U_a(d)                    # U_a d_i does not depend on t (section III-B)

    def forward(self, h_dec_prev, d, Ud, valid):
        e = self.v_a(torch.tanh(self.W_a(h_dec_prev)[:, None] + Ud)).squeeze(-1)   # eq. 17
        alpha = torch.softmax(e.masked_fill(~valid, float("-inf")), dim=-1)         # eq. 16
        return (alpha[..., None] * d).sum(1), alpha                                 # eq. 15


def scheduled_alpha(lengths: torch.Tensor, steps_per_digit: int, Lmax: int, Tmax: int, spread: float,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A fixed alpha [B, Tmax, Lmax] in place of eq. 16-17: steps [jk, (j+1)k) focus on the j-th digit
    from the right, with weight 1 - spread, and spread is shared evenly by all L digits.

    Rightmost first because images are right-aligned, so the units digit anchors the layout. The even
    share keeps the whole
    number, and so its length, in y_t at every step. alpha stays a distribution, so y_t = sum alpha d
    (eq. 15) is unchanged. docs/model.md gives the evidence for this flag."""
    t = torch.arange(Tmax, device=lengths.device)
    focus = (lengths[:, None] - 1 - t // steps_per_digit).clamp(min=0)                  # [B, T]
    valid = (torch.arange(Lmax, device=lengths.device) < lengths[:, None]).to(dtype)    # [B, L]
    even = valid / lengths[:, None].to(dtype)
    return (1 - spread) * F.one_hot(focus, Lmax).to(dtype) + spread * even[:, None, :]


class RNNLabelEncoder(nn.Module):
    """rnnDRAW: an LSTM reads the one-hot digits; its last hidden state is y_t at every step."""

    def __init__(self, label_dim: int, y_size: int):
        super().__init__()
        self.lstm = nn.LSTM(label_dim, y_size, batch_first=True)

    def forward(self, d: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(d)
        last = F.one_hot(lengths - 1, out.shape[1]).to(out.dtype)                   # each number's last digit
        return (out * last[..., None]).sum(1)
