"""Model configuration and the paper's Table I presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from seqdraw.errors import SeqdrawError
from seqdraw.settings import check_fields, from_dict, setting

# Keys older model files carry that no longer configure anything; their old values are the only ones
# a file may hold (docs/notes tell what the removed flags were).
RETIRED = {"max_len": None, "write_max_stride": 0.0}


@dataclass(frozen=True)
class ModelConfig:
    label_encoder: str = setting("attention", "attention (seqDRAW, eq. 15-17) or rnn (rnnDRAW)",
                                 choices=("attention", "rnn"))
    height: int = setting(32, "canvas height", lo=4, hi=512)
    width: int = setting(64, "canvas width", lo=4, hi=512)
    read_n: int = setting(12, "read glimpse is read_n x read_n", lo=2, hi=64)
    write_n: int = setting(12, "write patch is write_n x write_n", lo=2, hi=64)
    enc_size: int = setting(400, "Table I: encoder LSTM #h", lo=1, hi=8192)
    dec_size: int = setting(400, "Table I: decoder LSTM #h", lo=1, hi=8192)
    z_size: int = setting(100, "Table I: #z", lo=1, hi=4096)
    y_size: int = setting(20, "Table I: #y (attention: y_t = sum alpha d_i, so #y = b)", lo=1, hi=4096)
    label_dim: int = setting(20, "Table I: b (attention: one-hot digit 10 + one-hot position 10)", lo=10, hi=20)
    label_attention: str = setting("learned", "learned: eq. 16-17; scheduled: alpha fixed to digit t // k",
                                   choices=("learned", "scheduled"))
    schedule_spread: float = setting(0.3, "scheduled: share of alpha spread evenly over all digits", lo=0, hi=1)
    attention_size: int = setting(64, "width of tanh(W_a h + U_a d) in eq. 17 (not given in the paper)",
                                  lo=1, hi=4096)
    steps_per_digit: int = setting(10, "Table I: k, T = k L", lo=1, hi=100)
    position_from: str = setting("right", "the position one-hot counts from this end (docs/model.md)",
                                 choices=("left", "right"))
    log_sigma_limit: float = setting(5.0, "|log sigma| of prior and posterior soft-bounded to this",
                                     lo=0, exclusive="lo", hi=20)
    likelihood: str = setting("bernoulli", "-log p(x|c_T): bernoulli (eq. 10) or logistic (discretised over the "
                                           "256 grey levels, one learned scale; seqdraw/model/likelihood.py)",
                              choices=("bernoulli", "logistic"))
    logistic_scale: float = setting(0.0, "logistic: 0 learns the scale; a value > 0 holds it fixed there, so the "
                                         "likelihood stays loose (docs/training.md)", lo=0, hi=1)

    def __post_init__(self):
        check_fields(self)
        if self.label_encoder == "attention" and self.y_size != self.label_dim:
            raise SeqdrawError("with label attention y_t is a mix of the d_i, so y_size must equal label_dim")
        if self.label_encoder == "attention" and self.label_dim != 10 + 10:
            raise SeqdrawError("label attention uses d_i = one-hot digit (10) + one-hot position (10): label_dim 20")
        if self.logistic_scale and self.likelihood != "logistic":
            raise SeqdrawError("logistic_scale holds the logistic's scale fixed: it needs likelihood logistic")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, what: str = "model config") -> "ModelConfig":
        """From a dict; the retired keys of older files are dropped when they hold their old value."""
        if isinstance(d, dict):
            for key, old in RETIRED.items():
                if key in d and (old is None or d[key] == old):
                    d = {k: v for k, v in d.items() if k != key}
        return from_dict(cls, d, what, gone={"write_max_stride": "tried and rejected: docs/notes",
                                             "max_len": "the trainer's max_len is what counts"})


# Table I. seqDRAW and seqDRAW-cur share the network; the "-cur" preset differs in training only
# (curriculum by length, seqdraw.trainer).
PRESETS = {
    "rnndraw": ModelConfig(label_encoder="rnn", y_size=50, label_dim=10),
    "seqdraw": ModelConfig(),
    "seqdraw-cur": ModelConfig(),
}


def preset(name: str, **overrides) -> ModelConfig:
    if name not in PRESETS:
        raise SeqdrawError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return ModelConfig.from_dict({**PRESETS[name].to_dict(), **overrides})
