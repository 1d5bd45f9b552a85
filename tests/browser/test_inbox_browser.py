"""The inbox in a real headless Chromium, used as an owner uses it, against the real service.

See conftest.py for the service (``mention-monitor run`` polling a Hacker News stand-in) and
the browser (Debian's Chromium; skipped with a how-to line where it is missing, never in CI).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import (
    ACK,
    CSRF,
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    IMG,
    PASSWORD,
    SCRIPT,
    VERDICT,
    Service,
)
from tests.browser.pages import PHONE, Browser

NEEDS = "/?view=needs"


def test_a_wrong_password_is_refused_with_a_message_and_the_right_one_lets_in(
    driver: WebDriver, service: Service
) -> None:
    browser = Browser(driver, service.url)
    driver.delete_all_cookies()
    browser.open("/")
    assert browser.path.startswith("/login"), "the inbox showed without logging in"

    browser.drain()
    browser.login("not the password")
    assert browser.path.startswith("/login")
    assert "password" in browser.text().casefold(), "no message says the password was wrong"
    assert PASSWORD not in driver.page_source
    assert not driver.get_cookies() or not browser.logged_in()

    browser.login(PASSWORD)
    assert browser.logged_in()
    assert "Acme Coffee" in browser.text() or "Inbox" in browser.text()


def test_a_negative_mention_fetched_by_the_poll_appears_in_the_inbox(
    browser: Browser, screenshots: Path
) -> None:
    title = ACK[1]
    browser.wait_for_text(NEEDS, title)
    card = browser.card(title)
    for label in ("Acknowledge", "Resolve", "Ignore", "Not negative"):
        browser.button(card, label)
    assert "Hacker News" in card.text or "hackernews" in card.text.casefold()
    assert ACK[2] in card.text, "the author is not on the card"
    browser.screenshot(screenshots / "inbox.png", full=False)


def test_acknowledge_moves_a_mention_out_of_needs_an_answer(
    browser: Browser, service: Service
) -> None:
    title = ACK[1]
    browser.wait_for_text(NEEDS, title)
    browser.button(browser.card(title), "Acknowledge").click()
    browser.wait_for(lambda: "complete" == browser.driver.execute_script(
        "return document.readyState"), "the answer to Acknowledge never loaded")  # fmt: skip

    browser.open(NEEDS)
    assert title not in browser.text(), "an acknowledged mention still needs an answer"
    browser.open("/?view=all&status=acknowledged")
    assert title in browser.text()
    assert title in service.cli("mentions", "--status", "acknowledged")
    assert title not in service.cli("mentions", "--status", "new")


def test_not_negative_changes_the_score_explanation(browser: Browser, service: Service) -> None:
    title = VERDICT[1]
    browser.wait_for_text(NEEDS, title)
    browser.open(browser.mention_link(title))
    page = browser.path
    before = browser.text()

    browser.button(browser.card(title), "Not negative").click()
    browser.wait_for(lambda: browser.text() != before, "Not negative changed nothing on the page")
    browser.open(page)
    after = browser.text()
    assert after != before
    assert "you marked" in after.casefold(), "the explanation does not say the owner's verdict"
    browser.open(NEEDS)
    assert title not in browser.text(), "a mention marked not negative still needs an answer"


def test_the_hostile_mentions_show_as_text_and_run_nothing(
    browser: Browser, screenshots: Path
) -> None:
    for title in (HOSTILE_IMG[1], HOSTILE_SCRIPT[1]):
        browser.wait_for_text(NEEDS, title)
    pages = [NEEDS, browser.mention_link(HOSTILE_IMG[1]), browser.mention_link(HOSTILE_SCRIPT[1])]
    for path in pages:
        browser.open(path)
        assert browser.alert_text() is None, f"the mention's script opened an alert on {path}"
        driver = browser.driver
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == [], "an <img> was made"
        marker = driver.execute_script("return document.documentElement.dataset.pwned || null")
        assert marker is None, f"the mention's script ran on {path}"
        scripts = driver.execute_script(
            "return [...document.scripts].map(s => s.text).filter(t => t.includes('pwned'))"
        )
        assert scripts == [], f"the mention's <script> became a script element on {path}"
    browser.open(pages[1])
    assert IMG in browser.text(), "the hostile text is not shown as written"
    browser.open(pages[2])
    assert SCRIPT in browser.text(), "the hostile text is not shown as written"


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, service: Service
) -> None:
    title = CSRF[1]
    browser.wait_for_text(NEEDS, title)
    card = browser.card(title)
    button = browser.button(card, "Acknowledge")
    removed = browser.driver.execute_script(
        "const form = arguments[0].form;"
        "const tokens = form.querySelectorAll('input[name=csrf_token]');"
        "tokens.forEach(t => t.remove()); return tokens.length",
        button,
    )
    assert removed == 1, "the Acknowledge form has no hidden csrf_token to remove"
    browser.drain()
    button.click()
    seen: list[tuple[str, str, int]] = []

    def answered() -> bool:
        seen.extend(browser.statuses())
        return any(method == "POST" for method, _, _ in seen)

    browser.wait_for(answered, "the form's answer never came")
    assert [status for method, _, status in seen if method == "POST"] == [403], seen
    assert title in service.cli("mentions", "--status", "new")
    browser.open(NEEDS)
    assert title in browser.text()


def test_the_buttons_are_reachable_with_tab(browser: Browser) -> None:
    title = CSRF[1]
    browser.wait_for_text(NEEDS, title)
    reached = browser.focus_sequence(200)
    for label in ("Acknowledge", "Resolve", "Ignore", "Not negative"):
        assert any(r.casefold().endswith(":" + label.casefold()) for r in reached), (
            f"Tab never reaches {label!r}: {reached[:40]}"
        )


def test_the_inbox_fits_a_phone_screen(browser: Browser, screenshots: Path) -> None:
    browser.wait_for_text(NEEDS, CSRF[1])
    browser.phone()
    browser.open(NEEDS)
    inner, scroll = browser.driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert inner == PHONE[0], "the page does not ask for the phone's width (meta viewport)"
    assert scroll <= inner, f"the inbox is {scroll} px wide on a {inner} px phone screen"
    browser.screenshot(screenshots / "inbox-phone.png", full=False)


def test_a_mention_page_and_a_brand_page_render(browser: Browser, screenshots: Path) -> None:
    title = ACK[1]
    browser.wait_for_text("/?view=all", title)
    browser.open(browser.mention_link(title))
    assert title in browser.text()
    browser.screenshot(screenshots / "mention.png")

    browser.open("/brands/" + quote("Acme Coffee"))
    charts = browser.driver.find_elements(By.CSS_SELECTOR, "svg[role=img]")
    assert charts, "the brand page has no chart"
    label = str(charts[0].get_attribute("aria-label"))
    assert "Acme Coffee" in label, label
    points = charts[0].find_elements(By.CSS_SELECTOR, "circle, rect.bar, .point")
    assert points, "the brand chart has no data points"
    browser.screenshot(screenshots / "brand.png")
