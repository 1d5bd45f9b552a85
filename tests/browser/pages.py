"""What a person does in the inbox, as browser steps: open a page, log in, find a mention's
card and its buttons, press Tab, read the status code of what the browser was sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

WAIT = 30.0
DESKTOP = (1280, 900)
PHONE = (390, 844)


class Browser:
    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    # -- pages ---------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base_url) or "/"

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for(self, condition: Any, message: str, timeout: float = WAIT) -> Any:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(
            lambda _: condition(), message
        )

    def wait_for_text(self, path: str, text: str, timeout: float = WAIT) -> None:
        """Open ``path`` again and again until it shows ``text`` (a poll brings it)."""

        def shown() -> bool:
            self.open(path)
            return text in self.text()

        self.wait_for(shown, f"{path} never showed {text!r}", timeout)

    # -- logging in ----------------------------------------------------------------------
    def logged_in(self) -> bool:
        self.open("/")
        return not self.path.startswith("/login")

    def login(self, password: str) -> None:
        self.open("/login")
        field = self.driver.find_element(By.CSS_SELECTOR, "input[type=password]")
        field.clear()
        field.send_keys(password)
        self.loads_page(lambda: field.send_keys(Keys.ENTER))

    def press(self, button: WebElement) -> None:
        """Click a button that sends its form, and wait until the answer has loaded."""
        self.loads_page(button.click)

    def loads_page(self, action: Callable[[], object]) -> None:
        """Do ``action`` and wait until the page it leads to has replaced this one.

        The old page is marked with a value of its own; a new document does not carry it.
        While the browser is between two documents the driver may answer with an error
        ("Node with given id does not belong to the document"): that means "not yet".
        """
        self.driver.execute_script("window.__mentionMonitorOldPage = true")
        action()

        def replaced() -> bool:
            return bool(
                self.driver.execute_script(
                    "return window.__mentionMonitorOldPage === undefined"
                    " && document.readyState === 'complete'"
                )
            )

        WebDriverWait(
            self.driver, WAIT, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)
        ).until(lambda _: replaced(), "no new page came, or it never finished loading")

    # -- mentions ------------------------------------------------------------------------
    def card(self, text: str) -> WebElement:
        """The innermost element that holds both a mention's text and its buttons."""
        candidates = [
            e
            for e in self.driver.find_elements(
                By.XPATH, f"//*[contains(normalize-space(.), {xpath_literal(text)})]"
            )
            if e.find_elements(By.CSS_SELECTOR, "button, input[type=submit]")
        ]
        assert candidates, f"no card holds both {text!r} and buttons on {self.path}"
        return candidates[-1]  # document order: the innermost comes last

    def button(self, within: WebElement, label: str) -> WebElement:
        for element in within.find_elements(By.CSS_SELECTOR, "button, input[type=submit]"):
            shown = element.text or element.get_attribute("value") or ""
            if shown.strip().casefold() == label.casefold():
                return element
        labels = [e.text for e in within.find_elements(By.CSS_SELECTOR, "button")]
        raise AssertionError(f"no {label!r} button on {self.path}; buttons: {labels}")

    def mention_link(self, text: str) -> str:
        """The path of the mention page that the inbox card of ``text`` links to."""
        for link in self.card(text).find_elements(By.CSS_SELECTOR, "a[href*='/mentions/']"):
            href = str(link.get_attribute("href"))
            if href.startswith(self.base_url):
                return href.removeprefix(self.base_url)
        raise AssertionError(f"the card of {text!r} has no link to its mention page")

    def explanation(self, text: str) -> str:
        """Why the card of ``text`` says its mention was flagged (or not): its list of reasons."""
        return "\n".join(e.text for e in self.card(text).find_elements(By.CSS_SELECTOR, ".why"))

    # -- what the browser was sent -------------------------------------------------------
    def drain(self) -> None:
        self.driver.get_log("performance")

    def statuses(self) -> list[tuple[str, str, int]]:
        """(method, url, status) of each page (document) the browser got since ``drain``."""
        methods: dict[str, str] = {}
        found: list[tuple[str, str, int]] = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                methods[params["requestId"]] = params["request"]["method"]
            elif message["method"] == "Network.responseReceived" and params["type"] == "Document":
                response = params["response"]
                method = methods.get(params["requestId"], "?")
                found.append((method, response["url"], int(response["status"])))
        return found

    def alert_text(self) -> str | None:
        try:
            alert = self.driver.switch_to.alert
        except NoAlertPresentException:
            return None
        text = str(alert.text)
        alert.dismiss()
        return text

    # -- window --------------------------------------------------------------------------
    def desktop(self) -> None:
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        self.driver.set_window_size(*DESKTOP)

    def phone(self) -> None:
        """A phone's screen: 390 x 844 CSS pixels, touch, the page's own viewport rule."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
        )

    def wider_than(self, width: int) -> list[str]:
        """The innermost elements reaching past ``width`` CSS pixels: what makes a page scroll."""
        found: list[str] = self.driver.execute_script(
            """
            const width = arguments[0];
            const wide = [...document.body.querySelectorAll('*')].filter(
                e => e.getBoundingClientRect().right > width + 0.5);
            return wide.filter(e => !wide.some(o => o !== e && e.contains(o))).slice(0, 8).map(
                e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ` +
                     `"${e.textContent.trim().slice(0, 40)}" ` +
                     `(right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
            """,
            width,
        )
        return found

    def screenshot(self, path: Path, *, full: bool = True, max_height: int = 2400) -> None:
        """A PNG of the page (its whole length up to ``max_height`` when ``full``)."""
        width, height = self.driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollHeight]"
        )
        clip = {
            "x": 0,
            "y": 0,
            "width": width,
            "height": min(height, max_height) if full else self.viewport_height(),
            "scale": 1,
        }
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": full},
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def viewport_height(self) -> int:
        return int(self.driver.execute_script("return window.innerHeight"))

    def tab_until(self, wanted: list[WebElement], presses: int) -> list[WebElement]:
        """Press Tab from the top of the page until every one of ``wanted`` has had the focus
        (or ``presses`` run out); the elements reached, in order."""
        self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        reached: list[WebElement] = []
        for _ in range(presses):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            reached.append(self.driver.switch_to.active_element)
            if all(w in reached for w in wanted):
                break
        return reached


def xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ', "\'", '.join(f"'{p}'" for p in parts) + ")"
