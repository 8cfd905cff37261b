"""model.sampling: the one batched sampler and the one reconstruction loop every caller uses."""
import numpy as np
import torch

from conftest import TINY_FILE
from seqdraw.data.labels import encode
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.model.sampling import batches_by_length, reconstruct_by_length, sample_by_length, seeded

STRINGS = ["7", "42", "157", "3", "99", "2024", "5", "61"]


def model():
    torch.manual_seed(0)
    return ConditionalDRAW(preset("seqdraw", **TINY_FILE)).eval()


def test_batches_hold_one_length_each_and_cover_every_row_once():
    lengths = np.array([2, 1, 2, 3, 1, 2, 2])
    seen = []
    for L, rows in batches_by_length(lengths, batch=2):
        assert len(rows) <= 2 and (lengths[rows] == L).all()
        seen += list(rows)
    assert sorted(seen) == list(range(len(lengths)))
    assert [L for L, _ in batches_by_length(lengths, 2)] == [1, 2, 2, 3]           # shortest first


def test_samples_come_back_in_the_rows_order():
    # at temperature 0 a sample depends on its label only, so a shuffled request is the same pictures shuffled
    m = model()
    labels, lengths = encode(STRINGS * 3)
    perm = np.random.default_rng(0).permutation(len(labels))
    a = sample_by_length(m, labels, lengths, seeded(0), batch=5, temperature=0.0)
    b = sample_by_length(m, labels[perm], lengths[perm], seeded(1), batch=5, temperature=0.0)
    assert np.abs(a[perm] - b).max() < 1e-5           # rounding differs with a batch's other rows
    assert np.abs(a - b).max() > 0.01                  # (and the order is not simply ignored)
    assert a.dtype == np.float32 and a.shape == (len(labels), 32, 64) and 0 <= a.min() and a.max() <= 1


def test_one_generator_per_length_makes_a_length_independent_of_the_others():
    m = model()
    labels, lengths = encode(STRINGS)
    per_length = lambda L: seeded(100 + L)                                  # noqa: E731
    both = sample_by_length(m, labels, lengths, per_length)
    twos = lengths == 2
    alone = sample_by_length(m, labels[twos], lengths[twos], per_length)
    assert np.array_equal(both[twos], alone)
    shared = sample_by_length(m, labels[twos], lengths[twos], seeded(102))
    assert np.array_equal(shared, alone)          # the same generator, the same draws
    other = sample_by_length(m, labels, lengths, seeded(0))
    assert not np.array_equal(other, both)


def test_reconstructions_are_seeded_and_see_the_image():
    m = model()
    labels, lengths = encode(STRINGS)
    images = (np.random.default_rng(0).random((len(labels), 32, 64)) * 255).astype(np.uint8)
    a = reconstruct_by_length(m, images, labels, lengths, seeded(3), batch=3)
    assert np.array_equal(a, reconstruct_by_length(m, images, labels, lengths, seeded(3)))   # batch size is free
    assert not np.array_equal(a, reconstruct_by_length(m, 255 - images, labels, lengths, seeded(3)))
