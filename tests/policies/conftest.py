from __future__ import annotations

import pytest

from tests.policies.browser import CHROMEDRIVER, CHROMIUM, make_driver


@pytest.fixture(scope="session")
def driver():
    """One headless chromium for every report test (skipped without Debian's chromium and its driver)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"no {CHROMIUM} / {CHROMEDRIVER}: apt-get install chromium chromium-driver (.ci/install)")
    d = make_driver()
    yield d
    d.quit()
