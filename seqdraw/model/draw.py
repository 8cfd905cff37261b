"""Conditional DRAW with label attention (Sun et al., section III). Read beside the paper: the
comments give its equation numbers; "DRAW eq." refers to Gregor et al. 2015.

One forward pass over a batch that may mix lengths: sample b draws for T_b = k L_b steps. Steps past
T_b leave its canvas unchanged and add no KL, so a mixed batch gives exactly the result of running
each sample alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn as nn

from seqdraw.model.attention import FilterbankAttention, soft_clamp
from seqdraw.model.config import ModelConfig
from seqdraw.model.labels import LabelAttention, RNNLabelEncoder, digit_vectors, scheduled_alpha
from seqdraw.model.likelihood import bernoulli_nll, discretised_logistic_nll


def gaussian_kl(mu_q, log_sigma_q, mu_p, log_sigma_p) -> torch.Tensor:
    """KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)) summed over the last dim (appendix VI).

    The appendix prints the mean term as sum (mu_1 - mu_2)^2; the exact KL divides it by sigma_2^2,
    which is what we use (they agree only for a unit-variance prior)."""
    ratio = (log_sigma_q - log_sigma_p).exp() ** 2
    return 0.5 * (((mu_q - mu_p) / log_sigma_p.exp()) ** 2 + ratio - ratio.log() - 1).sum(-1)


@dataclass
class Drawing:
    """What generation returns: final images and, on request, the drawing process."""
    images: torch.Tensor                    # [B, H, W] in [0, 1]: sigmoid(c_T), eq. 10 means
    canvases: torch.Tensor | None = None    # [B, Tmax + 1, H, W] sigmoid(c_t), frozen after T_b
    write_where: torch.Tensor | None = None  # [B, Tmax, 3] write centre gx, gy and stride delta
    alpha: torch.Tensor | None = None       # [B, Tmax, Lmax] label attention weights (seqDRAW)


class LabelContext(NamedTuple):
    """Everything about the labels that does not depend on h_dec, computed once per sequence."""
    d: torch.Tensor                         # [B, L, b] digit vectors d_i
    Ud: torch.Tensor | None                 # [B, L, A] U_a d_i (learned attention)
    valid: torch.Tensor                     # [B, L] which d_i are digits
    y_rnn: torch.Tensor | None              # [B, #y] rnnDRAW's y, the same at every step
    alpha: torch.Tensor | None              # scheduled attention: [B, Tmax, L], or [B, L] at one step


class InferenceState(NamedTuple):
    """What one step of the inference pass carries to the next."""
    h_enc: torch.Tensor
    c_enc: torch.Tensor
    h_dec: torch.Tensor
    c_dec: torch.Tensor
    canvas: torch.Tensor                    # c_t, logits
    kl: torch.Tensor                        # [B] KL summed over the steps so far


def noise(shape, generator: torch.Generator | None, dtype, device) -> torch.Tensor:
    """N(0, I) noise from `generator` on the generator's own device, then moved: a CPU generator gives
    the same pictures on a GPU as on the CPU, and training's generator lives on its device."""
    where = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, dtype=dtype, device=where).to(device)


class ConditionalDRAW(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        n_read = 2 * c.read_n * c.read_n
        self.read_attention = FilterbankAttention(c.dec_size, c.height, c.width, c.read_n)
        self.write_attention = FilterbankAttention(c.dec_size, c.height, c.width, c.write_n)
        self.encoder = nn.LSTMCell(n_read + c.dec_size, c.enc_size)                 # eq. 13
        self.decoder = nn.LSTMCell(c.z_size + c.y_size, c.dec_size)                 # eq. 7
        self.posterior = nn.Linear(c.enc_size, 2 * c.z_size)                        # eq. 14
        self.prior = nn.Linear(c.dec_size, 2 * c.z_size)                            # eq. 4-5
        self.write_patch = nn.Linear(c.dec_size, c.write_n * c.write_n)             # W_write in eq. 9
        if c.label_encoder == "rnn":
            self.labels = RNNLabelEncoder(c.label_dim, c.y_size)
        elif c.label_attention == "learned":
            self.labels = LabelAttention(c.dec_size, c.label_dim, c.attention_size)
        else:                                   # scheduled: alpha is fixed, so there is nothing to learn
            self.labels = None
            self._register_load_state_dict_pre_hook(self._drop_label_attention)
        # learned initial states (section III-A: "h_0^enc is the initial parameter to be learned")
        self.h0_enc = nn.Parameter(torch.zeros(c.enc_size))
        self.c0_enc = nn.Parameter(torch.zeros(c.enc_size))
        self.h0_dec = nn.Parameter(torch.zeros(c.dec_size))
        self.c0_dec = nn.Parameter(torch.zeros(c.dec_size))
        if c.likelihood == "logistic" and not c.logistic_scale:   # one learned scale for all pixels
            self.log_scale = nn.Parameter(torch.tensor(math.log(0.1)))
        self.step = self.train_step
        self.drawing = self.drawing_loop

    @staticmethod
    def _drop_label_attention(state_dict, prefix, *args):
        """Files written when a scheduled model still held (untrained) attention weights load as they are."""
        for key in [k for k in state_dict if k.startswith(prefix + "labels.")]:
            del state_dict[key]

    # ---- pieces ------------------------------------------------------------------------------
    def steps(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.config.steps_per_digit * lengths                                # T = k L (III-D)

    def _gaussian(self, layer: nn.Linear, h: torch.Tensor):
        mu, log_sigma = layer(h).chunk(2, dim=-1)
        return mu, soft_clamp(log_sigma, self.config.log_sigma_limit)

    def _label_context(self, labels, lengths, Tmax: int) -> LabelContext:
        c = self.config
        attention = c.label_encoder == "attention"
        d, valid = digit_vectors(labels, lengths, c.position_from, with_position=attention,
                                 dtype=self.h0_dec.dtype)
        if not attention:
            return LabelContext(d, None, valid, self.labels(d, lengths), None)
        if c.label_attention == "scheduled":
            return LabelContext(d, None, valid, None, scheduled_alpha(lengths, c.steps_per_digit, d.shape[1], Tmax,
                                                                      c.schedule_spread, d.dtype))
        return LabelContext(d, self.labels.precompute(d), valid, None, None)

    @staticmethod
    def _at(context: LabelContext, t: int) -> LabelContext:
        """The label context for step t (only a scheduled alpha changes with t)."""
        return context if context.alpha is None else context._replace(alpha=context.alpha[:, t])

    def _y(self, h_dec, context: LabelContext):
        if context.y_rnn is not None:
            return context.y_rnn, None
        if context.alpha is not None:
            return (context.alpha[..., None] * context.d).sum(1), context.alpha     # eq. 15, fixed alpha
        return self.labels(h_dec, context.d, context.Ud, context.valid)             # eq. 15-17

    def _decode_and_write(self, z, h_dec, c_dec, canvas, live, context: LabelContext):
        """The decoder's step, shared by inference and generation (eq. 15-17, 7-9)."""
        y, alpha = self._y(h_dec, context)
        h_dec, c_dec = self.decoder(torch.cat([z, y], 1), (h_dec, c_dec))              # eq. 7
        c = self.config
        patch = self.write_patch(h_dec).view(-1, c.write_n, c.write_n)
        written, where = self.write_attention.write(patch, h_dec)                      # eq. 9
        canvas = canvas + live[:, None, None] * written                                # eq. 8
        return h_dec, c_dec, canvas, where, alpha

    def _initial(self, B: int):
        e = lambda p: p.expand(B, -1)  # noqa: E731
        return e(self.h0_enc), e(self.c0_enc), e(self.h0_dec), e(self.c0_dec)

    # ---- training: the variational bound ------------------------------------------------------
    def forward(self, images: torch.Tensor, labels: torch.Tensor, lengths: torch.Tensor,
                generator: torch.Generator | None = None,
                pixel_weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """images [B, H, W] in [0, 1]; labels [B, Lmax] padded with -1; lengths [B].

        Returns per-image reconstruction (-log p(x|y,z) in nats, `pixel_nll`), KL (summed over steps), their
        sum, the negative bound of eq. 18-19 with one sample of z (L = 1 in eq. 19), and the final
        canvas c_T ("logits": sigmoid of it is the reconstruction)."""
        for state, _, _, _ in self._inference_pass(images, labels, lengths, generator, process=False):
            pass
        recon = self.pixel_nll(state.canvas, images)                                   # eq. 10
        if pixel_weights is not None:
            recon = recon * pixel_weights
        recon = recon.flatten(1).sum(1)
        return {"loss": recon + state.kl, "recon": recon, "kl": state.kl, "logits": state.canvas}

    def _inference_pass(self, images, labels, lengths, generator, process: bool):
        """The Tmax steps of the inference pass, yielding (state, where, alpha, live) after each: `step`
        (perhaps compiled) for training, or the eager `inference_step` with its process for `trace`."""
        B = images.shape[0]
        T = self.steps(lengths)
        Tmax = int(T.max())
        context = self._label_context(labels, lengths, Tmax)
        state = InferenceState(*self._initial(B), images.new_zeros(images.shape), images.new_zeros(B))
        x = images[:, None]
        for t in range(Tmax):
            live = (t < T).to(images.dtype)
            eps = noise((B, self.config.z_size), generator, images.dtype, images.device)
            if process:
                state, where, alpha = self.inference_step(x, live, eps, state, self._at(context, t))
                yield state, where, alpha, live
            else:
                state = self.step(x, live, eps, state, self._at(context, t))
                yield state, None, None, live

    def pixel_nll(self, canvas: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """-log p(x | c_T) per pixel, in nats: eq. 10's Bernoulli, or a discretised logistic."""
        c = self.config
        if c.likelihood == "bernoulli":
            return bernoulli_nll(canvas, images)
        # a scale held fixed stays wide: a learned one shrinks to the errors' width, and then the latents
        # carry the picture and the prior's samples lose it (docs/notes/2026-12-07-session-19.md)
        log_scale = (torch.tensor(math.log(c.logistic_scale), device=canvas.device) if c.logistic_scale
                     else soft_clamp(self.log_scale, 7.0))
        return discretised_logistic_nll(canvas, log_scale, images)

    def train_step(self, x, live, eps, state: InferenceState, context: LabelContext) -> InferenceState:
        """One drawing step of the inference pass (eq. 11-14, 3-8); `step` may be its compiled form."""
        return self.inference_step(x, live, eps, state, context)[0]

    def inference_step(self, x, live, eps, state: InferenceState, context: LabelContext):
        """`train_step`, also returning where it wrote and the label attention alpha (for `trace`)."""
        h_enc, c_enc, h_dec, c_dec, canvas, kl = state
        x_hat = x - torch.sigmoid(canvas)[:, None]                                    # eq. 11
        r = self.read_attention.read(torch.cat([x, x_hat], 1), h_dec)                  # eq. 12
        h_enc, c_enc = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))          # eq. 13
        mu_q, log_sigma_q = self._gaussian(self.posterior, h_enc)                      # eq. 14
        mu_p, log_sigma_p = self._gaussian(self.prior, h_dec)                          # eq. 3-5
        z = mu_q + log_sigma_q.exp() * eps                                             # eq. 20
        h_dec, c_dec, canvas, where, alpha = self._decode_and_write(z, h_dec, c_dec, canvas, live, context)
        kl = kl + live * gaussian_kl(mu_q, log_sigma_q, mu_p, log_sigma_p)             # eq. 18
        return InferenceState(h_enc, c_enc, h_dec, c_dec, canvas, kl), where, alpha

    @torch.inference_mode()
    def trace(self, images: torch.Tensor, labels: torch.Tensor, lengths: torch.Tensor,
              generator: torch.Generator | None = None) -> Drawing:
        """The inference pass of `forward` (z from the posterior), with its drawing process: how the
        model reconstructs a test image step by step, where it writes and which digit it attends to.
        Eager; the same noise as `forward` with the same generator."""
        canvases, wheres, alphas = [torch.full_like(images, 0.5)], [], []           # sigmoid(c_0 = 0)
        for state, where, alpha, live in self._inference_pass(images, labels, lengths, generator, process=True):
            canvases.append(torch.sigmoid(state.canvas))
            wheres.append(torch.stack(where, -1))
            if alpha is not None:
                alphas.append(alpha * live[:, None])
        return Drawing(torch.sigmoid(state.canvas), torch.stack(canvases, 1), torch.stack(wheres, 1),
                       torch.stack(alphas, 1) if alphas else None)

    # ---- compiling (seqdraw/model/compiled.py: the plumbing stays out of the paper's reading) --------
    def use_compiled(self, drawing: bool = True, **kwargs) -> "ConditionalDRAW":
        """Swap in torch.compile'd forms of `step`, `sample_step` and `drawing` (model.compiled)."""
        from seqdraw.model.compiled import use_compiled
        return use_compiled(self, drawing, **kwargs)

    def eager(self):
        """A context in which the eager step and drawing run, whatever `use_compiled` swapped in."""
        from seqdraw.model.compiled import eager
        return eager(self)

    # ---- generation: sampling from the learned prior ----------------------------------------------
    def sample_step(self, eps, live, temperature, h_dec, c_dec, canvas, context: LabelContext):
        """One drawing step from the prior (eq. 3-8)."""
        mu_p, log_sigma_p = self._gaussian(self.prior, h_dec)                          # eq. 3-5
        z = mu_p + temperature * log_sigma_p.exp() * eps                               # eq. 6
        return self._decode_and_write(z, h_dec, c_dec, canvas, live, context)

    def draw(self, labels: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None,
             process: bool = False, temperature: float = 1.0, style_temperature: float | None = None,
             pad_to: int | None = None, style: torch.Tensor | None = None) -> Drawing:
        """Draw one image per row of labels with z_t from the conditional prior (eq. 6-10).

        Differentiable: training with a guide (docs/training.md) backpropagates through it; `generate`
        is the same pass without gradients. temperature scales the prior's standard deviation (1: the
        paper's sampling; 0: the prior mean); below 1 it trades style diversity for legibility, as in
        Glow and NVAE. style_temperature, when given, replaces it for z_1 alone: the first step sets
        the style of the whole picture (ground, polarity, stroke; docs/generation.md). pad_to, when
        given, draws a batch of that many rows and returns the first B: a compiled drawing then sees one
        batch size, so one graph per length (the padding rows take no noise from the generator). style
        [B, z_size], when given, is z_1 itself (`style_code` of an example image), not a draw: the
        noise of step 1 is set so that eq. 6 gives exactly it."""
        c = self.config
        Tmax = int(self.steps(lengths).max())
        # noise drawn step by step, so a seed gives the same pictures however the loop is run
        eps = torch.stack([noise((labels.shape[0], c.z_size), generator, self.h0_dec.dtype, self.h0_dec.device)
                           for _ in range(Tmax)])
        tau = torch.full((Tmax,), float(temperature), dtype=eps.dtype, device=eps.device)
        if style_temperature is not None:
            tau[0] = float(style_temperature)
        if style is not None:                   # z_1 = mu_p + 1 * sigma_p * eps_1 = style (eq. 6 at t = 1)
            tau[0] = 1.0
            mu_p, log_sigma_p = self._gaussian(self.prior, self.h0_dec.expand(labels.shape[0], -1))   # eq. 4-5
            eps[0] = (style.to(eps) - mu_p) / log_sigma_p.exp()
        B = labels.shape[0]
        if pad_to is not None and B < pad_to:
            labels = torch.cat([labels, labels[:1].expand(pad_to - B, -1)])
            lengths = torch.cat([lengths, lengths[:1].expand(pad_to - B)])
            eps = torch.cat([eps, eps.new_zeros(Tmax, pad_to - B, c.z_size)], 1)
        drawn = self.drawing(eps, tau, labels, lengths, process)
        return Drawing(*(None if field is None else field[:B] for field in drawn))

    def drawing_loop(self, eps, tau, labels, lengths, process: bool):
        """The Tmax = len(eps) steps of `draw`, given all their noise; `drawing` may be its compiled form,
        which then holds the label set-up too. Returns the fields of a Drawing (None for the process when
        it is not asked for)."""
        c = self.config
        Tmax, B = eps.shape[:2]
        context = self._label_context(labels, lengths, Tmax)
        live = (torch.arange(Tmax, device=eps.device)[:, None] < self.steps(lengths)).to(eps.dtype)  # [Tmax, B]
        _, _, h_dec, c_dec = self._initial(B)
        canvas = eps.new_zeros(B, c.height, c.width)
        canvases, wheres, alphas = [torch.sigmoid(canvas)], [], []
        for t in range(Tmax):
            h_dec, c_dec, canvas, where, alpha = self.sample_step(eps[t], live[t], tau[t], h_dec, c_dec, canvas,
                                                                  self._at(context, t))
            if process:
                canvases.append(torch.sigmoid(canvas))
                wheres.append(torch.stack(where, -1))
                if alpha is not None:
                    alphas.append(alpha * live[t][:, None])
        images = torch.sigmoid(canvas)                                                 # eq. 10 (mean)
        if not process:
            return images, None, None, None
        return images, torch.stack(canvases, 1), torch.stack(wheres, 1), torch.stack(alphas, 1) if alphas else None

    @torch.inference_mode()
    def generate(self, labels: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None,
                 process: bool = False, temperature: float = 1.0, style_temperature: float | None = None,
                 pad_to: int | None = None, style: torch.Tensor | None = None) -> Drawing:
        """`draw` without gradients: what generation and evaluation use."""
        return self.draw(labels, lengths, generator, process, temperature, style_temperature, pad_to, style)

    @torch.inference_mode()
    def style_code(self, images: torch.Tensor) -> torch.Tensor:
        """[B, z_size]: the posterior mean of z_1 for images [B, H, W] in [0, 1]. At step 1 the decoder
        has read no label yet (h_dec_0 is learned), so z_1 depends on the image alone: it is what sets
        the picture's ground, polarity and stroke, and can be given to `draw` for another number."""
        B = images.shape[0]
        h_enc, c_enc, h_dec, _ = self._initial(B)
        x = images[:, None]
        x_hat = x - torch.sigmoid(x.new_zeros(x.shape))                               # eq. 11, c_0 = 0
        r = self.read_attention.read(torch.cat([x, x_hat], 1), h_dec)                  # eq. 12
        h_enc, _ = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))              # eq. 13
        return self._gaussian(self.posterior, h_enc)[0]                                # eq. 14, the mean

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- model files (seqdraw/model/pretrained.py: the format lives beside the paper's network) ------
    @classmethod
    def from_pretrained(cls, path) -> "ConditionalDRAW":
        """The model in a .safetensors file (or a folder's model.safetensors, e.g. RUN/final), or a
        shipped one by name ("recipe", "paper"), in eval mode; the file's other metadata (max_len,
        temperature, provenance) is `model.metadata`. Loading executes no code."""
        from seqdraw.model.pretrained import load_model, model_path
        model, meta = load_model(model_path(path))
        model.metadata = meta
        return model.eval()

    def save_pretrained(self, path, metadata: dict | None = None, overwrite: bool = False) -> Path:
        """Write the weights and config to `path` (a .safetensors file, or a folder that gets
        model.safetensors), atomically; an existing file is replaced only with overwrite=True."""
        from seqdraw.model.pretrained import save_pretrained
        return save_pretrained(self, path, {**getattr(self, "metadata", {}), **(metadata or {})}, overwrite)
