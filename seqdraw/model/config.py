"""Model configuration and the paper's Table I presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from seqdraw.errors import SeqdrawError


@dataclass(frozen=True)
class ModelConfig:
    label_encoder: str = "attention"     # "attention" (seqDRAW, eq. 15-17) or "rnn" (rnnDRAW baseline)
    height: int = 32
    width: int = 64
    read_n: int = 12                     # read glimpse is read_n x read_n
    write_n: int = 12                    # write patch is write_n x write_n
    write_max_stride: float = 0.0        # 0: unbounded (the paper); else the write grid's stride is
                                         # smoothly capped, so each write is at most N x this wide
    enc_size: int = 400                  # Table I: LSTM #h
    dec_size: int = 400
    z_size: int = 100                    # Table I: #z
    y_size: int = 20                     # Table I: #y (attention: y_t = sum alpha d_i, so #y = b)
    label_dim: int = 20                  # Table I: b (attention: one-hot digit 10 + one-hot position 10)
    label_attention: str = "learned"     # "learned": eq. 16-17; "scheduled": alpha fixed to digit t // k
    schedule_spread: float = 0.3         # scheduled: share of alpha spread evenly over all digits
    attention_size: int = 64             # width of tanh(W_a h + U_a d) in eq. 17 (not given in the paper)
    steps_per_digit: int = 10            # Table I: k, T = k L
    max_len: int = 5
    position_from: str = "right"         # position one-hot counts from the right end (see docs/model.md)
    log_sigma_limit: float = 5.0         # |log sigma| of prior and posterior soft-bounded to this

    def __post_init__(self):
        if self.label_encoder not in ("attention", "rnn"):
            raise SeqdrawError(f"label_encoder must be 'attention' or 'rnn', got {self.label_encoder!r}")
        if self.write_max_stride < 0:
            raise SeqdrawError(f"write_max_stride must be 0 (off) or positive, got {self.write_max_stride}")
        if self.label_attention not in ("learned", "scheduled"):
            raise SeqdrawError(f"label_attention must be 'learned' or 'scheduled', got {self.label_attention!r}")
        if not 0 <= self.schedule_spread <= 1:
            raise SeqdrawError(f"schedule_spread must be in [0, 1], got {self.schedule_spread}")
        if self.position_from not in ("left", "right"):
            raise SeqdrawError(f"position_from must be 'left' or 'right', got {self.position_from!r}")
        if self.label_encoder == "attention" and self.y_size != self.label_dim:
            raise SeqdrawError("with label attention y_t is a mix of the d_i, so y_size must equal label_dim")
        if self.label_encoder == "attention" and self.label_dim != 10 + 10:
            raise SeqdrawError("label attention uses d_i = one-hot digit (10) + one-hot position (10): label_dim 20")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SeqdrawError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


# Table I. seqDRAW and seqDRAW-cur share the network; the "-cur" preset differs in training only
# (curriculum by length, seqdraw.train).
PRESETS = {
    "rnndraw": ModelConfig(label_encoder="rnn", y_size=50, label_dim=10),
    "seqdraw": ModelConfig(),
    "seqdraw-cur": ModelConfig(),
}


def preset(name: str, **overrides) -> ModelConfig:
    if name not in PRESETS:
        raise SeqdrawError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return ModelConfig.from_dict({**PRESETS[name].to_dict(), **overrides})
