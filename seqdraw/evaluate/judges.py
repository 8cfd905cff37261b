"""The judges: readers that no model trains against, shipped beside the model.

Two of different families, so that no single blind spot can be pleased:
  judge.safetensors      a multi-digit classifier (length head and digit heads; seqdraw.readers.classifier)
  judge-ctc.safetensors  a CTC sequence recogniser (convolutions, BiLSTM, CTC; seqdraw.readers.ctc)
Both were trained on synthetic data from seeds that no generative model uses (docs/evaluation.md).

A judge is refused for a model when it is related to that model's training:
  - it guided the training (its weights' digest is in the model's "guides"), or
  - it was trained on the model's own training images (its "trained_on" fingerprint is among the
    model's, or equals the evaluation data's training split, which is the model's when the model
    predates the fingerprints).
"""
from __future__ import annotations

from pathlib import Path

from seqdraw.model.pretrained import weights_digest
from seqdraw.errors import SeqdrawError
from seqdraw.readers import load_reader

SHIPPED_JUDGES = ("judge.safetensors", "judge-ctc.safetensors")


def shipped_judge_paths() -> list[Path]:
    from seqdraw.model.pretrained import default_model_path

    return [default_model_path().with_name(name) for name in SHIPPED_JUDGES]


def load_judge(path, model_meta: dict, data_train_fingerprint: str | None = None):
    """(reader, metadata) of a judge, refused with a one-line error when it is related to the model."""
    reader, meta = load_reader(path)
    if weights_digest(reader.state_dict()) in model_meta.get("guides", []):
        raise SeqdrawError(f"{path} guided this model's training, so it cannot judge it: "
                           "evaluate with an independently trained judge")
    trained_on = meta.get("trained_on")
    if trained_on and trained_on in model_meta.get("trained_on", []):
        raise SeqdrawError(f"{path} was trained on this model's own training images, so it cannot judge it: "
                           "train a judge on data from another seed (docs/evaluation.md)")
    if trained_on and trained_on == data_train_fingerprint:
        raise SeqdrawError(f"{path} was trained on the training split of the evaluation data, which is what "
                           "the model trains on: train a judge on data from another seed (docs/evaluation.md)")
    return reader, meta


def judge_name(reader, path) -> str:
    return f"{reader.arch} ({Path(path).name})"
