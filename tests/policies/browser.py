"""A headless chromium driven through Selenium for the report tests: Debian's ``chromium`` with its
``chromium-driver`` (nothing downloaded at run time). ``open_page`` loads a file and returns what the
browser saw: the request URLs and the console's SEVERE entries."""

from __future__ import annotations

import json
import time
from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def make_driver(width: int = 1280, height: int = 900):
    """A headless chromium (autoplay allowed, request and console logs on); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def open_page(driver, page: Path) -> tuple[list[str], list[str]]:
    """Load ``page`` (a file), wait for it; (every request URL, the console's SEVERE messages)."""
    driver.get_log("performance")  # drop what earlier pages logged
    driver.get_log("browser")
    driver.get(page.resolve().as_uri())
    deadline = time.monotonic() + 10
    while driver.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    severe = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return urls, severe


def video_times(driver) -> list[float]:
    """Every <video>'s currentTime (s)."""
    return driver.execute_script("return Array.from(document.querySelectorAll('video'), v => v.currentTime)")


def screenshot(driver, out: Path, width: int = 1280) -> Path:
    """A PNG of the whole page (the window stretched to the page's height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 40, 6000))
    out.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(out))
    return out
