"""The drawing-process measures of seqdraw.evaluate.attention, on cases whose answer is known, and the
model's `trace` (the inference pass with its process)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqdraw.evaluate.attention import (attention_alignment, digit_centres, drawing_order, half_change_steps,
                                        ink_boxes, written_digit)
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.model.labels import scheduled_alpha

K = 4


def number_boxes(N: int, L: int, width: float = 8.0, gap: float = 2.0, left: float = 10.0) -> np.ndarray:
    """N numbers of L digit boxes side by side, left to right."""
    boxes = np.zeros((N, L, 4))
    for i in range(L):
        boxes[:, i] = (left + i * (width + gap), 8.0, width, 16.0)
    return boxes


def pen_on(digit_at_step: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Write-window centres [N, T] on the centre of the given digit at each step."""
    return np.take_along_axis(digit_centres(boxes), digit_at_step, 1)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_scheduled_attention_that_the_pen_follows_scores_one(L):
    N, T = 5, K * L
    lengths = torch.full((N,), L)
    alpha = scheduled_alpha(lengths, K, L, T, spread=0.3).numpy()
    focus = alpha.argmax(-1)                                   # rightmost digit first, k steps each
    boxes = number_boxes(N, L)
    r = attention_alignment(alpha, pen_on(focus, boxes), boxes, np.full(N, L), K)
    assert r["alignment"] == pytest.approx(1.0) and r["chance"] == pytest.approx(1 / L)
    assert r["steps"] == N * T
    # the same attention while the pen goes the other way round scores what chance allows, not 1
    reverse = L - 1 - focus
    r = attention_alignment(alpha, pen_on(reverse, boxes), boxes, np.full(N, L), K)
    assert r["alignment"] == pytest.approx(0.0 if L % 2 == 0 else 1 / L)


@settings(max_examples=30, deadline=None)
@given(L=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_uniform_attention_scores_one_over_L_wherever_the_pen_is(L, seed):
    rng = np.random.default_rng(seed)
    N, T = 4, K * L
    boxes = number_boxes(N, L)
    alpha = np.full((N, T, L), 1 / L)
    pen = pen_on(rng.integers(0, L, (N, T)), boxes)
    assert attention_alignment(alpha, pen, boxes, np.full(N, L), K)["alignment"] == pytest.approx(1 / L)


def test_steps_off_the_number_and_past_its_length_are_not_counted():
    boxes = number_boxes(2, 3)
    lengths = np.array([3, 2])
    pen = np.array([[0.0, 100.0, 25.0, 25.0] * 3, [25.0] * 12])          # 0 and 100: outside the number
    assert written_digit(pen, boxes, lengths)[0, :2].tolist() == [-1, -1]
    alpha = np.zeros((2, 12, 3))
    alpha[..., 1] = 1
    r = attention_alignment(alpha, pen, boxes, lengths, K)
    assert r["steps"] == 6 + 8                                  # 12 - 6 off the number; 2 K steps for L=2
    assert r["alignment"] == pytest.approx(1.0)                 # x = 25 is the middle digit's centre


def test_half_change_and_drawing_order_tell_one_after_another_from_all_at_once():
    N, L, H, W = 3, 3, 32, 64
    T = K * L
    boxes = number_boxes(N, L)
    sequential = np.full((N, T + 1, H, W), 0.5)
    at_once = np.full((N, T + 1, H, W), 0.5)
    for i in range(L):
        x, y, w, h = boxes[0, i].astype(int)
        for t in range(1, T + 1):
            done = np.clip((t - i * K) / K, 0, 1)                 # digit i is drawn in steps i k .. (i + 1) k
            sequential[:, t, y:y + h, x:x + w] = 0.5 + 0.5 * done
            at_once[:, t, y:y + h, x:x + w] = 0.5 + 0.5 * t / T
    half = half_change_steps(sequential, boxes, np.full(N, L))
    assert half[0].tolist() == [2, 6, 10]                         # half of each digit's k = 4 steps
    seq = drawing_order(sequential, boxes, np.full(N, L), K)["3"]
    once = drawing_order(at_once, boxes, np.full(N, L), K)["3"]
    assert seq["spread"] == pytest.approx(8 / T, abs=1e-3) and once["spread"] == 0
    assert seq["half_change_share_by_position"] == sorted(seq["half_change_share_by_position"])
    unchanged = np.full((1, T + 1, H, W), 0.5)
    assert np.isnan(half_change_steps(unchanged, boxes[:1], np.array([L]))).all()


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_ink_boxes_are_equal_slices_of_the_number_on_either_polarity(L):
    boxes = number_boxes(2, L, left=13.0)
    light = np.full((2, 32, 64), 0.2)
    for x, y, w, h in boxes[0].astype(int):
        light[:, y:y + h, x:x + w] = 0.9
    for images in (light, 1 - light):
        est = ink_boxes(images, L)
        assert est.shape == (2, L, 4)
        span = boxes[0, -1, 0] + 8 - 13                                  # first box's left to last box's right
        assert np.allclose(est[..., 0], 13 + np.arange(L) * span / L) and np.allclose(est[..., 2], span / L)
        assert np.allclose(est[..., 1], 8) and np.allclose(est[..., 3], 16)
        assert np.allclose(digit_centres(est), digit_centres(boxes), atol=1.0)
    assert np.allclose(ink_boxes(np.full((1, 32, 64), 0.5), L)[0, :, 2], 64 / L)   # no ink: the whole frame


def test_ink_boxes_find_most_digits_of_rendered_numbers():
    """On the renderer's numbers (grounds with texture, plates and neighbours) the estimated centre lies
    nearest the right digit's true centre for most digits."""
    from seqdraw.data.synth import SynthConfig, generate
    for L in (2, 3):
        probs = tuple(float(i == L - 1) for i in range(L))
        data = generate(150, seed=5, config=SynthConfig(length_probs=probs))
        est = ink_boxes(data["images"].astype(np.float64) / 255, L)
        true = data["boxes"][:, :L].astype(np.float64)
        nearest = np.abs(digit_centres(est)[:, :, None] - digit_centres(true)[:, None, :]).argmin(-1)
        assert (nearest == np.arange(L)).mean() >= 0.75


@pytest.mark.parametrize("kind", ["learned", "scheduled", "rnn"])
def test_trace_is_the_inference_pass_with_its_process(kind):
    torch.manual_seed(0)
    tiny = dict(enc_size=16, dec_size=16, z_size=4, attention_size=8, steps_per_digit=2, read_n=4, write_n=4)
    config = preset("rnndraw", **tiny) if kind == "rnn" else preset("seqdraw", label_attention=kind, **tiny)
    model = ConditionalDRAW(config).eval()
    images = torch.rand(3, 32, 64)
    labels, lengths = torch.tensor([[1, 2, 3], [4, 5, -1], [6, -1, -1]]), torch.tensor([3, 2, 1])
    out = model(images, labels, lengths, generator=torch.Generator().manual_seed(1))
    trace = model.trace(images, labels, lengths, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(trace.images, torch.sigmoid(out["logits"]), atol=1e-6)
    assert trace.canvases.shape == (3, 7, 32, 64) and trace.write_where.shape == (3, 6, 3)
    assert torch.equal(trace.canvases[2, 2], trace.canvases[2, -1])     # frozen after its own k L steps
    if kind == "rnn":
        assert trace.alpha is None
    else:
        assert trace.alpha.shape == (3, 6, 3)
        assert torch.allclose(trace.alpha[0].sum(-1), torch.ones(6))
        assert (trace.alpha[1, :, 2] == 0).all() and (trace.alpha[2, 2:] == 0).all()   # padding, finished
