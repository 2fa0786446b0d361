"""The README's picture of an evaluation's report.html: evaluate a policy (default: ServoArmPush's
scripted expert, 20 episodes, 4 filmed), open the page in headless chromium (Debian's chromium and
chromium-driver through Selenium), let the videos play, and save the top of the page as a PNG. Also
prints how long the page took to build.

    python benchmarks/report_screenshot.py [--policy expert:robokit/ServoArmPush-v0] [--out docs/img/eval_report.png]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def browser(width: int, height: int):
    """A headless chromium with autoplay allowed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="expert:robokit/ServoArmPush-v0")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "eval_report.png"))
    parser.add_argument("--height", type=int, default=1500, help="pixels of the page's top to keep")
    args = parser.parse_args()

    from robokit.policies import evaluate
    from robokit.policies.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "eval"
        evaluate(args.policy, episodes=args.episodes, out_dir=folder, video_episodes=4)
        t0 = time.perf_counter()
        page = build_report(folder)
        print(f"report.html built in {time.perf_counter() - t0:.3f} s ({page.stat().st_size} bytes)")
        driver = browser(1280, args.height)
        try:
            driver.get(page.as_uri())
            time.sleep(2.0)  # the videos play a little
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(args.out)
        finally:
            driver.quit()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
