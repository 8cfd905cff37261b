"""torch.compile for the seqDRAW network: which of its functions are compiled, when, and how a block of
code runs them eager again. `ConditionalDRAW.use_compiled` and `.eager` call these; the network's own
file stays a reading of the paper (docs/performance.md has the measurements behind each choice)."""
from __future__ import annotations

import contextlib
import shutil
import warnings

import torch


def raise_recompile_limit(n: int) -> None:
    """Dynamo's per-function graph limit is `recompile_limit` in recent torch, `cache_size_limit` before."""
    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), n))


def use_compiled(model, drawing: bool = True, **kwargs):
    """Swap in torch.compile'd forms: the inference step (the pass's length varies with the batch),
    and, unless drawing=False, generation as one whole drawing of T steps (one graph per T, so
    drawing one number runs no Python between steps). Training keeps the drawing eager: with
    gradients, one whole-drawing graph per length takes minutes of C++ compiling each. The eager
    functions stay the reference. Without a C++ compiler (torch.compile's CPU backend needs one)
    the model stays eager."""
    if not torch.cuda.is_available() and not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
        warnings.warn("torch.compile needs a C++ compiler on the CPU and none was found: running eager")
        return model
    # one drawing graph per (T, grad mode) and step variants per grad mode; with fullgraph=True,
    # reaching the limit is an error, not a fallback
    raise_recompile_limit(64)
    model.step = torch.compile(model.train_step, dynamic=True, **kwargs)
    if not drawing:
        # the eager drawing loop over a compiled step: one small graph per grad mode, seconds to compile
        model.sample_step = torch.compile(model.sample_step, dynamic=True, **kwargs)
        return model
    # at batch 1 a step is ~10 small kernels: a C++ wrapper calls them without Python in between
    options = {"cpp_wrapper": True, **kwargs.pop("options", {})}
    # Dynamo cannot trace nn.LSTM: rnnDRAW's label encoder runs eager once per drawing, between graphs
    whole = model.config.label_encoder != "rnn"
    model.drawing = torch.compile(model.drawing_loop, fullgraph=whole, options=options, **kwargs)
    return model


@contextlib.contextmanager
def eager(model):
    """The eager step and drawing within the block, whatever `use_compiled` swapped in: a few
    validation batches or a sample grid are not worth compiling a graph per grad mode and length."""
    step, drawing = model.step, model.drawing
    compiled_sample_step = model.__dict__.pop("sample_step", None)     # the method, when compiled over
    model.step, model.drawing = model.train_step, model.drawing_loop
    try:
        yield model
    finally:
        model.step, model.drawing = step, drawing
        if compiled_sample_step is not None:
            model.sample_step = compiled_sample_step
