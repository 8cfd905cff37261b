"""The seqDRAW network: filterbank attention, label encoders, conditional DRAW, Table I presets."""
from seqdraw.model.attention import FilterbankAttention
from seqdraw.model.config import PRESETS, ModelConfig, preset
from seqdraw.model.draw import ConditionalDRAW, Drawing, gaussian_kl
from seqdraw.model.labels import LabelAttention, RNNLabelEncoder

__all__ = ["ConditionalDRAW", "Drawing", "FilterbankAttention", "LabelAttention", "ModelConfig", "PRESETS",
           "RNNLabelEncoder", "gaussian_kl", "preset"]
