"""A real browser for the console's tests: Debian's Chromium, headless, driven by its own chromedriver.

``live_console`` serves the console with uvicorn in a thread on a free loopback
port (the same ``web.server.run`` that ``helpdesk web`` uses); ``chromium``
starts a fresh headless Chromium with its own profile folder. Nothing is
downloaded at run time: ``tests/peers/ensure.sh`` installs the ``chromium`` and
``chromium-driver`` packages, and the tests skip, saying so, when the driver is
absent.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SECRET = "browser-test-secret-long-enough"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1000")

needs_chromium = pytest.mark.skipif(
    not CHROMEDRIVER.exists() or not CHROMIUM.exists(),
    reason="no /usr/bin/chromedriver or /usr/bin/chromium: run `bash tests/peers/ensure.sh` (installs Debian's "
           "chromium and chromium-driver) to run the browser tests")


class LiveConsole:
    """The console for one service, served over HTTP on 127.0.0.1 until ``stop``."""

    def __init__(self, service) -> None:
        from web.app import create_app
        from web.server import listen, run

        sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._stop = threading.Event()
        app = create_app(service, secret_key=SECRET, secure_cookies=False)  # plain HTTP on loopback
        self._thread = threading.Thread(target=run, args=(app, sock, self._stop), name="console", daemon=True)
        self._thread.start()
        self._wait_until_served()

    def _wait_until_served(self, timeout: float = 15) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the console did not come up on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


@pytest.fixture
def live_console(helpdesk):
    console = LiveConsole(helpdesk.service)
    yield console
    console.stop()


def start_chromium(profile: Path, *, width: int = 1280, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(width, height)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture
def chromium(tmp_path):
    driver = start_chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()
