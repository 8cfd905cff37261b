import shutil

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from conftest import SMALL
from seqdraw.model import ConditionalDRAW, FilterbankAttention, gaussian_kl, preset
from seqdraw.model.draw import InferenceState
from seqdraw.model.attention import FILTER_FLOOR, soft_clamp


def small(name="seqdraw", **kw):
    torch.manual_seed(0)
    return ConditionalDRAW(preset(name, **{**SMALL, **kw}))


def batch(B=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(B, 32, 64, generator=g)
    lengths = torch.tensor([1, 3, 2, 5][:B])
    labels = torch.full((B, 5), -1)
    for i, L in enumerate(lengths.tolist()):
        labels[i, :L] = torch.randint(0, 10, (L,), generator=g)
    return images, labels, lengths


def set_attention(att, gx_, gy_, log_sigma2, log_delta, log_gamma=0.0):
    with torch.no_grad():
        att.params.weight.zero_()
        att.params.bias.copy_(torch.tensor([gx_, gy_, log_sigma2, log_delta, log_gamma]))


def test_filterbank_rows_sum_to_one():
    att = FilterbankAttention(8, 32, 64, 12)
    fy, fx, gamma, _ = att(torch.randn(5, 8) * 3)
    torch.testing.assert_close(fy.sum(-1), torch.ones(5, 12))
    torch.testing.assert_close(fx.sum(-1), torch.ones(5, 12))


def test_narrow_filters_have_no_denormal_tails():
    # narrow filters: the softmax's tails fall to 1e-40 and below, and products with them are denormal
    att = FilterbankAttention(1, 32, 64, 12)
    set_attention(att, 0.3, -0.2, -3.0, -1.0)
    fy, fx, _, _ = att(torch.zeros(3, 1))
    for f in (fy, fx):
        assert (f == 0).any()                                              # the far tails are exact zeros
        assert not ((f > 0) & (f < FILTER_FLOOR)).any()                         # nothing tiny is left
        torch.testing.assert_close(f.sum(-1), torch.ones(3, 12))          # still a distribution


def test_grid_is_centred_on_g():
    att = FilterbankAttention(1, 32, 64, 12)
    set_attention(att, 0.0, 0.0, -4.0, 0.0)
    _, fx, _, (gx, gy, delta) = att(torch.zeros(1, 1))
    centres = (fx[0] * att.px).sum(-1)                     # filter means
    assert abs(centres.mean().item() - gx.item()) < 1e-3   # mu_i symmetric about g
    assert abs(gx.item() - 32.5) < 1e-6 and abs(gy.item() - 16.5) < 1e-6


def test_full_size_read_reproduces_image():
    # N = image size, stride 1, tiny variance: every filter picks one pixel
    att = FilterbankAttention(1, 32, 64, 64)
    set_attention(att, 0.0, 0.0, -6.0, 0.0)                 # delta = (64-1)/(64-1) * e^0 = 1
    img = torch.rand(2, 1, 32, 64)
    fy, fx, gamma, _ = att(torch.zeros(2, 1))
    glimpse = fy @ img[:, 0] @ fx.transpose(-1, -2)        # [2, 64, 64]: rows 16..47 hold the image
    torch.testing.assert_close(glimpse[:, 16:48], img[:, 0], atol=1e-3, rtol=0)


def test_write_lands_at_its_centre():
    att = FilterbankAttention(1, 32, 64, 4)
    set_attention(att, -0.5, 0.25, -1.0, -2.0)               # centre left of middle, below middle
    canvas, (gx, gy, _) = att.write(torch.ones(1, 4, 4), torch.zeros(1, 1))
    mass = canvas[0]
    ys, xs = torch.meshgrid(torch.arange(1, 33.0), torch.arange(1, 65.0), indexing="ij")
    cy, cx = (mass * ys).sum() / mass.sum(), (mass * xs).sum() / mass.sum()
    assert abs(cx - gx.item()) < 0.5 and abs(cy - gy.item()) < 0.5
    expected = 65 / 2 * (1 + soft_clamp(torch.tensor(-0.5), 8.0).item())   # DRAW eq. 22 after the bound
    assert abs(gx.item() - expected) < 1e-4


def test_kl_matches_torch():
    g = torch.Generator().manual_seed(0)
    mq, mp, lq, lp = (torch.randn(6, 7, generator=g) for _ in range(4))
    ref = kl_divergence(Normal(mq, lq.exp()), Normal(mp, lp.exp())).sum(-1)
    torch.testing.assert_close(gaussian_kl(mq, lq, mp, lp), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,kw", [("seqdraw", {}), ("rnndraw", {}),
                                     ("seqdraw", {"label_attention": "scheduled"})])
def test_mixed_batch_equals_per_sample_runs(name, kw):
    model = small(name, **kw).double()
    images, labels, lengths = batch()
    images = images.double()
    # the same noise per sample: draw each sample's eps stream from its own generator
    full = {k: [] for k in ("loss", "recon", "kl")}
    for i in range(4):
        out = model(images[i:i + 1], labels[i:i + 1, : lengths[i]], lengths[i:i + 1],
                    generator=torch.Generator().manual_seed(i))
        for k in full:
            full[k].append(out[k])
    # run the batch with a noise source that replays each sample's stream in its row
    torch.manual_seed(0)
    mixed = _batched_with_per_sample_noise(model, images, labels, lengths)
    for k in full:
        torch.testing.assert_close(mixed[k], torch.cat(full[k]), atol=1e-8, rtol=1e-8)


def _batched_with_per_sample_noise(model, images, labels, lengths):
    gens = [torch.Generator().manual_seed(i) for i in range(len(images))]
    real_randn = torch.randn

    def randn(shape, generator=None, dtype=None, device=None):
        return torch.cat([real_randn((1,) + tuple(shape[1:]), generator=g, dtype=dtype) for g in gens])

    torch.randn = randn
    try:
        return model(images, labels, lengths)
    finally:
        torch.randn = real_randn


def test_masked_canvas_frozen_after_own_steps():
    model = small()
    _, labels, lengths = batch()
    d = model.generate(labels, lengths, generator=torch.Generator().manual_seed(0), process=True)
    k = model.config.steps_per_digit
    for i, L in enumerate(lengths.tolist()):
        after = d.canvases[i, k * L:]
        assert (after == after[0]).all()                   # nothing drawn past T = k L
        assert (d.alpha[i, k * L:] == 0).all()
        assert torch.allclose(d.alpha[i, : k * L, :L].sum(-1), torch.ones(k * L))
        assert (d.alpha[i, :, L:] == 0).all()              # never attends to padding
    assert d.canvases.shape == (4, k * 5 + 1, 32, 64) and d.write_where.shape == (4, k * 5, 3)


def test_scheduled_attention_walks_right_to_left_k_steps_per_digit():
    model = small(label_attention="scheduled", schedule_spread=0.3)
    _, labels, lengths = batch()
    d = model.generate(labels, lengths, generator=torch.Generator().manual_seed(0), process=True)
    k = model.config.steps_per_digit
    for i, L in enumerate(lengths.tolist()):
        alpha = d.alpha[i, : k * L, :L]
        assert torch.allclose(alpha.sum(-1), torch.ones(k * L))
        focus = alpha.argmax(-1)
        expected = torch.tensor([L - 1 - t // k for t in range(k * L)])
        assert torch.equal(focus, expected)                # rightmost digit first, k steps each
        if L > 1:                                          # the rest share the spread evenly
            others = alpha[0, : L - 1]
            assert torch.allclose(others, torch.full_like(others, 0.3 / L))


def test_temperature_zero_is_the_prior_mean():
    model = small()
    _, labels, lengths = batch()
    a = model.generate(labels, lengths, generator=torch.Generator().manual_seed(1), temperature=0.0).images
    b = model.generate(labels, lengths, generator=torch.Generator().manual_seed(2), temperature=0.0).images
    c = model.generate(labels, lengths, generator=torch.Generator().manual_seed(2), temperature=1.0).images
    assert torch.equal(a, b) and not torch.equal(b, c)


def test_style_temperature_scales_z1_alone():
    model = small()
    _, labels, lengths = batch()
    draw = lambda seed, **kw: model.generate(labels, lengths, generator=torch.Generator().manual_seed(seed),  # noqa: E731
                                             **kw).images
    assert torch.equal(draw(1, temperature=0.5), draw(1, temperature=0.5, style_temperature=0.5))
    assert not torch.equal(draw(1, temperature=0.5), draw(1, temperature=0.5, style_temperature=2.0))
    # only z_1 is random: seeds differ, pictures differ; with z_1 at the mean too, they are equal
    assert not torch.equal(draw(1, temperature=0.0, style_temperature=1.0), draw(2, temperature=0.0, style_temperature=1.0))
    assert torch.equal(draw(1, temperature=0.0, style_temperature=0.0), draw(2, temperature=0.0, style_temperature=0.0))


def test_draw_is_generate_with_gradients():
    model = small()
    _, labels, lengths = batch()
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    drawn = model.draw(labels, lengths, generator=g())
    torch.testing.assert_close(drawn.images.detach(), model.generate(labels, lengths, generator=g()).images)
    drawn.images.sum().backward()            # the guide's path: prior and decoder, never the encoder
    assert model.prior.weight.grad.abs().sum() > 0 and model.write_patch.weight.grad.abs().sum() > 0
    assert model.encoder.weight_ih.grad is None


def test_gradients_reach_every_parameter():
    for name in ("seqdraw", "rnndraw"):
        model = small(name)
        out = model(*batch())
        out["loss"].mean().backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing, f"{name}: no gradient for {missing}"


def test_fixed_seed_gives_identical_samples():
    model = small()
    _, labels, lengths = batch()
    a = model.generate(labels, lengths, generator=torch.Generator().manual_seed(3)).images
    b = model.generate(labels, lengths, generator=torch.Generator().manual_seed(3)).images
    c = model.generate(labels, lengths, generator=torch.Generator().manual_seed(4)).images
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_extreme_parameters_and_long_runs_stay_finite():
    model = small(steps_per_digit=40)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(50)
    images, labels, lengths = batch()
    out = model(images, labels, lengths)
    assert all(torch.isfinite(v).all() for v in out.values())
    d = model.generate(labels, lengths)
    assert torch.isfinite(d.images).all()


def expected_parameters(c) -> int:
    """Table I's network counted by hand: LSTM cell 4h(in + h) + 8h, linear out(in + 1)."""
    lstm = lambda i, h: 4 * h * (i + h) + 8 * h  # noqa: E731
    linear = lambda i, o, bias=True: o * (i + bias)  # noqa: E731
    n = 2 * linear(c.dec_size, 5)                                         # read and write filterbanks
    n += lstm(2 * c.read_n ** 2 + c.dec_size, c.enc_size) + lstm(c.z_size + c.y_size, c.dec_size)
    n += linear(c.enc_size, 2 * c.z_size) + linear(c.dec_size, 2 * c.z_size) + linear(c.dec_size, c.write_n ** 2)
    n += 2 * c.enc_size + 2 * c.dec_size                                  # learned initial states
    if c.label_encoder == "rnn":
        n += lstm(c.label_dim, c.y_size)
    elif c.label_attention == "learned":                                  # W_a, U_a, v_a of eq. 17
        n += linear(c.dec_size, c.attention_size, False) + linear(c.label_dim, c.attention_size) + c.attention_size
    return n


def test_scheduled_attention_has_no_attention_weights_and_loads_old_files(tmp_path):
    from seqdraw.model.pretrained import load_model, save_weights
    learned = ConditionalDRAW(preset("seqdraw-cur"))
    scheduled = ConditionalDRAW(preset("seqdraw-cur", label_attention="scheduled"))
    assert scheduled.num_parameters() == learned.num_parameters() - 27_008 == expected_parameters(scheduled.config)
    # a file from before, whose scheduled model still held the untrained attention weights
    old = {**learned.state_dict()}
    path = tmp_path / "old.safetensors"
    torch.nn.Module.load_state_dict(learned, old)
    save_weights(path, learned, {"model_config": {**scheduled.config.to_dict(), "max_len": 5,
                                                  "write_max_stride": 0.0}})
    model, _ = load_model(path)
    assert model.labels is None and torch.equal(model.prior.weight, learned.prior.weight)


@pytest.mark.parametrize("name", ["rnndraw", "seqdraw", "seqdraw-cur"])
def test_presets_build(name, capsys):
    model = ConditionalDRAW(preset(name))
    n = model.num_parameters()
    print(f"{name}: {n:,} parameters")
    assert n == {"rnndraw": 2_863_354, "seqdraw": 2_829_962, "seqdraw-cur": 2_829_962}[name]
    assert n == expected_parameters(model.config)
    images, labels, lengths = batch(2)
    out = model(images, labels[:, :3], lengths.clamp(max=3))
    assert out["loss"].shape == (2,)


@pytest.mark.skipif(not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")),
                    reason="torch.compile needs a C++ compiler on the CPU")
@pytest.mark.slow
@pytest.mark.parametrize("name", ["seqdraw", "rnndraw"])
def test_compiled_drawing_matches_eager(name):
    eager, compiled = small(name), small(name).use_compiled()
    # a guided run compiles one drawing per (T, grad mode): 4 lengths x 2 outgrow dynamo's default 8,
    # which with fullgraph=True is a crash at the first sample grid (session 5)
    assert torch._dynamo.config.recompile_limit >= 2 * 5 + 8
    _, labels, lengths = batch(2)                          # T = 9: a short graph compiles fast
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    kw = dict(process=True, temperature=0.7, style_temperature=1.5)
    a, b = eager.generate(labels, lengths, g(), **kw), compiled.generate(labels, lengths, g(), **kw)
    for field in ("images", "canvases", "write_where", "alpha"):
        if getattr(a, field) is not None or getattr(b, field) is not None:       # rnnDRAW has no alpha
            torch.testing.assert_close(getattr(b, field), getattr(a, field), atol=1e-5, rtol=1e-4)
    drawn = compiled.draw(labels, lengths, g())            # the guide's pass: gradients through it
    torch.testing.assert_close(drawn.images.detach(), eager.generate(labels, lengths, g()).images,
                               atol=1e-5, rtol=1e-4)
    drawn.images.sum().backward()
    assert compiled.prior.weight.grad.abs().sum() > 0


def test_compile_falls_back_to_eager_without_a_compiler(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    model = small()
    with pytest.warns(UserWarning, match="C\\+\\+ compiler"):
        model.use_compiled()
    assert model.step == model.train_step and model.drawing == model.drawing_loop




@pytest.mark.parametrize("name, attention", [("seqdraw", "learned"), ("seqdraw", "scheduled"), ("rnndraw", "learned")])
def test_every_parameter_gets_a_gradient_from_the_bound(name, attention):
    """DDP (without find_unused_parameters) needs every parameter used: a scheduled model holds no label
    attention weights, and every weight it holds is reached by the bound."""
    model = ConditionalDRAW(preset(name, enc_size=16, dec_size=16, z_size=4, attention_size=8, steps_per_digit=2,
                                   label_attention=attention))
    images = torch.rand(3, 32, 64)
    labels, lengths = torch.tensor([[1, 2], [3, -1], [4, 5]]), torch.tensor([2, 1, 2])
    model(images, labels, lengths, generator=torch.Generator().manual_seed(0))["loss"].sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert (attention == "scheduled") == (model.labels is None)


def test_from_pretrained_and_save_pretrained_round_trip(tmp_path):
    """diffusers-style: save_pretrained writes one safetensors file (a folder gets model.safetensors),
    from_pretrained reads it back in eval mode with its metadata; nothing is replaced without overwrite."""
    import seqdraw
    from seqdraw.errors import SeqdrawError

    torch.manual_seed(0)
    model = ConditionalDRAW(preset("seqdraw", enc_size=16, dec_size=16, z_size=4, attention_size=8, steps_per_digit=2))
    written = model.save_pretrained(tmp_path / "run" / "final", metadata={"max_len": 3})
    assert written == tmp_path / "run" / "final" / "model.safetensors" and written.is_file()
    loaded = seqdraw.ConditionalDRAW.from_pretrained(tmp_path / "run" / "final")
    assert not loaded.training and loaded.metadata["max_len"] == 3 and loaded.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    labels, lengths = torch.tensor([[1, 5, 7]]), torch.tensor([3])
    a = model.generate(labels, lengths, generator=torch.Generator().manual_seed(0)).images
    b = loaded.to("cpu").generate(labels, lengths, generator=torch.Generator().manual_seed(0)).images
    assert torch.equal(a, b)
    with pytest.raises(SeqdrawError, match="exists: pass overwrite=True"):
        loaded.save_pretrained(written)
    before = written.read_bytes()
    loaded.save_pretrained(written, metadata={"temperature": 0.8}, overwrite=True)   # metadata carried over
    again = ConditionalDRAW.from_pretrained(written)
    assert again.metadata["max_len"] == 3 and again.metadata["temperature"] == 0.8 and written.read_bytes() != before
    with pytest.raises(SeqdrawError, match="no such model file"):
        ConditionalDRAW.from_pretrained(tmp_path / "missing.safetensors")


def test_style_code_is_the_first_steps_posterior_mean_and_draw_takes_it_as_z1():
    """style_code(x) is step 1 of the inference pass (eq. 11-14, mean of q(z_1 | x)), which reads no
    label; draw(style=s) makes z_1 = s exactly, whatever the noise."""
    torch.manual_seed(0)
    model = ConditionalDRAW(preset("seqdraw", **SMALL)).eval()
    images = torch.rand(3, 32, 64)
    labels, lengths = torch.tensor([[1, 5, 7], [4, 2, -1], [9, -1, -1]]), torch.tensor([3, 2, 1])
    state = InferenceState(*model._initial(3), torch.zeros(3, 32, 64), torch.zeros(3))
    context = model._label_context(labels, lengths, 9)
    with torch.no_grad():
        step1, _, _ = model.inference_step(images[:, None], torch.ones(3), torch.zeros(3, SMALL["z_size"]), state,
                                           model._at(context, 0))
        expected = model._gaussian(model.posterior, step1.h_enc)[0]
    style = model.style_code(images)
    torch.testing.assert_close(style, expected)
    assert not torch.allclose(style[0], style[1])                       # each image its own code
    g = lambda s: torch.Generator().manual_seed(s)                     # noqa: E731
    # at temperature 0 the other steps are the prior's means: with z_1 given, the noise no longer matters
    a = model.generate(labels, lengths, g(1), temperature=0.0, style=style).images
    b = model.generate(labels, lengths, g(2), temperature=0.0, style=style).images
    torch.testing.assert_close(a, b)
    mu_p = model._gaussian(model.prior, model.h0_dec.expand(3, -1))[0]   # z_1 = the prior's mean: plain t = 0
    torch.testing.assert_close(model.generate(labels, lengths, g(1), temperature=0.0, style=mu_p).images,
                               model.generate(labels, lengths, g(1), temperature=0.0).images, atol=1e-5, rtol=1e-5)


def test_from_pretrained_knows_the_shipped_models_by_name():
    from seqdraw.model.pretrained import default_model_path
    if not default_model_path("paper").exists():
        pytest.skip("no shipped paper model in this checkout")
    model = ConditionalDRAW.from_pretrained("paper")
    assert model.metadata["max_len"] == 4 and model.config.likelihood == "bernoulli" and not model.training
