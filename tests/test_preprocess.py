import numpy as np

from seqdraw.data.preprocess import FRAME_H, FRAME_W, crop_window, preprocess, square_crop


def test_short_number_is_right_aligned_and_keeps_aspect():
    img = np.zeros((200, 400), np.uint8)
    box = np.array([[300, 50, 40, 80]], float)          # one digit, 40x80
    img[50:130, 300:340] = 255
    frame, b = preprocess(img, box, margin=0.1)
    assert frame.shape == (FRAME_H, FRAME_W) and frame.dtype == np.uint8
    scale = FRAME_H / (80 * 1.2)
    np.testing.assert_allclose(b[0, 2:], [40 * scale, 80 * scale], rtol=1e-5)
    right = b[0, 0] + b[0, 2]
    assert abs(right - (FRAME_W - 8 * scale)) < 1e-3     # right edge one margin from the frame edge
    # the bright box lands where the mapped box says
    x0, y0, w, h = b[0]
    inside = frame[int(y0) + 2: int(y0 + h) - 2, int(x0) + 2: int(x0 + w) - 2]
    assert inside.min() > 200
    assert frame[:, : int(x0) - 2].max() < 30              # the left is image surroundings (black here)


def test_long_number_shrinks_to_fit():
    boxes = np.array([[10 + 30 * i, 20, 28, 40] for i in range(5)], float)
    x0, y0, x1, y1 = crop_window(boxes, margin=0.1)
    assert abs((x1 - x0) / (y1 - y0) - 2.0) < 1e-9
    frame, b = preprocess(np.zeros((100, 200), np.uint8), boxes, margin=0.1)
    assert (b[:, 0] >= 0).all() and (b[:, 0] + b[:, 2] <= FRAME_W + 1e-4).all()
    assert (b[:, 1] >= 0).all() and (b[:, 1] + b[:, 3] <= FRAME_H + 1e-4).all()


def test_window_outside_image_is_mirror_filled_not_flat():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (40, 30), dtype=np.uint8)
    frame, _ = preprocess(img, np.array([[5, 5, 10, 30]], float))
    assert frame[:, :20].std() > 10                       # surroundings, not a constant fill


def test_square_crop_shape():
    img = np.zeros((50, 80, 3), np.uint8)
    c = square_crop(img, (30, 10, 10, 30))
    assert c.shape == (32, 32) and c.dtype == np.uint8
