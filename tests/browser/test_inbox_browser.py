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
    LINKED,
    PASSWORD,
    POSTS,
    SCRIPT,
    VERDICT,
    Service,
)
from tests.browser.pages import PHONE, Browser

NEEDS = "/?view=needs"
BUTTONS = ("Acknowledge", "Resolve", "Ignore", "Not negative")
ACME = {p[0] for p in POSTS if "Acme Coffee" in p[1]}


def test_a_wrong_password_is_refused_with_a_message_and_the_right_one_lets_in(
    driver: WebDriver, service: Service
) -> None:
    browser = Browser(driver, service.url)
    driver.delete_all_cookies()
    browser.open("/")
    assert browser.path.startswith("/login"), "the inbox showed without logging in"
    assert driver.find_elements(By.CSS_SELECTOR, "[role=alert]") == []

    browser.drain()
    browser.login("not the password")
    assert [status for method, _, status in browser.statuses() if method == "POST"] == [401]
    assert browser.path.startswith("/login")
    message = driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
    assert message and "password" in message[0].text, "no message says the password was wrong"
    assert not browser.logged_in()

    browser.login(PASSWORD)
    assert browser.logged_in()
    assert "Needs an answer" in browser.text()


def test_a_negative_mention_fetched_by_the_poll_appears_in_the_inbox(
    browser: Browser, screenshots: Path
) -> None:
    title = ACK[1]
    browser.wait_for_text(NEEDS, title)
    card = browser.card(title)
    for label in BUTTONS:
        browser.button(card, label)
    assert "Hacker News" in card.text or "hackernews" in card.text.casefold()
    assert ACK[2] in card.text, "the author is not on the card"
    browser.screenshot(screenshots / "inbox.png", max_height=1400)


def test_acknowledge_moves_a_mention_out_of_needs_an_answer(
    browser: Browser, service: Service
) -> None:
    title = ACK[1]
    browser.wait_for_text(NEEDS, title)
    browser.press(browser.button(browser.card(title), "Acknowledge"))

    browser.open(NEEDS)
    assert title not in browser.text(), "an acknowledged mention still needs an answer"
    browser.open("/?view=all&status=acknowledged")
    assert title in browser.text()
    assert title in service.cli("mentions", "--status", "acknowledged")
    assert title not in service.cli("mentions", "--status", "new")


def test_the_alert_s_acknowledge_link_opens_a_page_whose_button_acknowledges(
    browser: Browser, service: Service
) -> None:
    title = LINKED[1]
    browser.wait_for_text(NEEDS, title)
    link = browser.wait_for(lambda: service.alert_link(title, "acknowledge"), "no alert linked")
    assert link.startswith(service.url + "/mentions/") and link.endswith("/ack"), link

    browser.open(link.removeprefix(service.url))  # as a tap on the link in the alert
    assert title in browser.text()
    assert title in service.cli("mentions", "--status", "new"), "opening the link changed it"
    browser.press(browser.button(browser.card(title), "Acknowledge"))
    assert title in service.cli("mentions", "--status", "acknowledged")
    browser.open(NEEDS)
    assert title not in browser.text()


def test_not_negative_changes_the_score_explanation(browser: Browser, service: Service) -> None:
    title = VERDICT[1]
    browser.wait_for_text(NEEDS, title)
    browser.open(browser.mention_link(title))
    page = browser.path
    before = browser.explanation(title)
    assert before, "the mention page does not say why the mention was flagged"

    browser.press(browser.button(browser.card(title), "Not negative"))
    browser.open(page)
    after = browser.explanation(title)
    assert after != before
    assert "you marked this not negative" in after.casefold(), after
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
    browser.press(button)
    seen = browser.statuses()
    assert [status for method, _, status in seen if method == "POST"] == [403], seen
    assert title in service.cli("mentions", "--status", "new")
    browser.open(NEEDS)
    assert title in browser.text()


def test_the_buttons_are_reachable_with_tab(browser: Browser) -> None:
    title = CSRF[1]
    browser.wait_for_text(NEEDS, title)
    card = browser.card(title)
    wanted = [browser.button(card, label) for label in BUTTONS]
    reached = browser.tab_until(wanted, presses=200)
    missing = [
        label for label, button in zip(BUTTONS, wanted, strict=True) if button not in reached
    ]
    assert not missing, f"Tab never reaches {missing} on the card of {title!r}"


def test_the_inbox_a_mention_and_a_brand_fit_a_phone_screen(
    browser: Browser, screenshots: Path
) -> None:
    browser.wait_for_text(NEEDS, HOSTILE_SCRIPT[1])
    pages = [NEEDS, browser.mention_link(HOSTILE_SCRIPT[1]), "/brands/" + quote("Acme Coffee")]
    browser.phone()
    for path in pages:
        browser.open(path)
        viewport = browser.driver.execute_script(
            "const m = document.querySelector('meta[name=viewport]'); return m && m.content"
        )
        assert viewport and "width=device-width" in viewport, f"no phone viewport rule: {path}"
        # A phone zooms out to show a page wider than its screen: innerWidth then grows past 390.
        inner, scroll = browser.driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        wide = browser.wider_than(PHONE[0])
        assert (inner, scroll) == (PHONE[0], PHONE[0]), f"{path} is wider than a phone: {wide}"
    browser.open(NEEDS)
    browser.screenshot(screenshots / "inbox-phone.png", full=False)


def test_a_mention_page_and_a_brand_page_render(
    browser: Browser, service: Service, screenshots: Path
) -> None:
    title = ACK[1]
    browser.wait_for_text("/?view=all", title)
    browser.open(browser.mention_link(title))
    assert title in browser.text()
    spread = browser.driver.find_elements(By.CSS_SELECTOR, "svg[role=img] .point")
    assert spread, "the mention page has no spread chart with a reading"
    browser.screenshot(screenshots / "mention.png")

    browser.open("/brands/" + quote("Acme Coffee"))
    charts = browser.driver.find_elements(By.CSS_SELECTOR, "svg[role=img]")
    assert charts, "the brand page has no chart"
    label = str(charts[0].get_attribute("aria-label"))
    assert label.startswith("Acme Coffee: mentions and negative mentions per day"), label
    bars = charts[0].find_elements(By.CSS_SELECTOR, ".series-mentions .point")
    assert len(bars) == 30, "not one point a day for 30 days"
    heights = [float(b.get_attribute("height") or 0) for b in bars]
    days = {day for object_id, day in service.posted_days().items() if object_id in ACME}
    assert sum(h > 0 for h in heights) == len(days), (heights, days)
    tips = [b.find_element(By.TAG_NAME, "title").get_attribute("textContent") for b in bars]
    counted = sum(int(str(tip).split(": ")[1].split()[0]) for tip in tips)
    assert counted == len(ACME), tips
    browser.screenshot(screenshots / "brand.png")
