"""seqdraw demo: through its HTTP API (Gradio's client) and in a real headless browser."""
import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY_FILE
from seqdraw.model.pretrained import save_model
from seqdraw.data.labels import parse_number
from seqdraw.errors import SeqdrawError
from seqdraw.model import ConditionalDRAW, preset

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from seqdraw.demo import serve
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "model.safetensors"
    save_model(path, ConditionalDRAW(preset("seqdraw", **TINY_FILE)), extra={"max_len": 4})
    page, url = serve(path, port=free_port(), block=False)
    yield url
    page.close()


def test_demo_api_draws_and_refuses_like_the_cli(demo):
    from gradio_client import Client
    client = Client(demo, verbose=False)
    samples, animation, attention = client.predict("2024", 1.0, 3, 4, api_name="/draw")
    grid = np.asarray(Image.open(samples))
    assert grid.shape[0] > 32 * 4 - 1 and grid.std() > 0            # 4 samples, scaled up, not blank
    gif = Image.open(animation)
    assert gif.n_frames == 2 * 4                                     # k L drawing steps
    assert Path(attention).stat().st_size > 0
    assert demo.startswith("http://127.0.0.1:")                      # bound to this machine only
    with pytest.raises(SeqdrawError) as cli_error:
        parse_number("12a", 4)
    with pytest.raises(Exception) as page_error:
        client.predict("12a", 1.0, 0, 4, api_name="/draw")
    assert str(cli_error.value) in str(page_error.value)
    with pytest.raises(Exception, match="digits"):
        client.predict("123456", 1.0, 0, 4, api_name="/draw")


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
@pytest.mark.skipif(browser() is None or shutil.which("chromedriver") is None, reason="no headless browser here")
def test_demo_in_a_real_browser(demo, tmp_path):
    """Load the page, type 2024, press Draw, wait for the pictures, save a screenshot
    (SEQDRAW_DEMO_SCREENSHOT=PATH keeps it, as docs/figures/demo.png was made)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = browser()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(demo)
        box = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#number textarea, #number input"))
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("2024")
        driver.find_element(By.CSS_SELECTOR, "#draw").click()
        WebDriverWait(driver, 120).until(
            lambda d: all(d.find_elements(By.CSS_SELECTOR, f"#{e} img") for e in ("samples", "animation", "attention")))
        time.sleep(1.0)                                       # let the images finish painting
        shot = Path(os.environ.get("SEQDRAW_DEMO_SCREENSHOT", tmp_path / "demo.png"))
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        src = driver.find_element(By.CSS_SELECTOR, "#samples img").get_attribute("src")
        assert "samples-2024" in src
    finally:
        driver.quit()


def test_the_request_folder_stays_bounded(tmp_path):
    from seqdraw.demo import forget_old_pictures
    import os
    for i in range(12):
        f = tmp_path / f"p{i}.png"
        f.write_bytes(b"x")
        os.utime(f, ns=(i * 10**9, i * 10**9))
    forget_old_pictures(tmp_path, keep={str(tmp_path / "p0.png")}, limit=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["p0.png"] + [f"p{i}.png" for i in range(7, 12)])


def test_the_page_draws_a_first_number_when_it_loads():
    from seqdraw.demo import build
    page = build()
    triggers = [event for d in page.config["dependencies"] for _, event in d.get("targets", [])]
    assert "load" in triggers and "click" in triggers
