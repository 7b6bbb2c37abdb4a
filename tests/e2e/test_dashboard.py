"""The operator dashboard at /admin, driven in headless Chromium against the real server process.

Seeds two tenants through the REST API (a personal assistant with months of memories, a support
desk), ages the assistant's memories and runs the lifecycle, then checks what the page renders
against what the admin API says. SQLite only: the page reads the same JSON on either backend.

``MNEMONIX_SCREENSHOT=docs/dashboard.png`` also saves a full-page screenshot (and searches with
the real MiniLM model instead of the test hash embedder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Memory
from storage.types import utcnow
from tests.helpers import ADMIN_KEY, auth, create_tenant_key
from tests.server import running_server

pytestmark = pytest.mark.timeout(600)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT_ENV = "MNEMONIX_SCREENSHOT"
ASSISTANT = "personal-assistant"
SUPPORT = "support-desk"

# (content, days ago, importance, pinned): what an assistant learns about Ann over half a year.
ASSISTANT_MEMORIES: list[tuple[str, int, float, bool]] = [
    ("Ann is allergic to peanuts and shellfish", 200, 0.9, True),
    ("Ann prefers concise answers with bullet points", 150, 0.8, True),
    ("Ann's daughter Maya turns 8 on June 12th; the party is at Riverside Park", 40, 0.7, False),
    ("Ann is a data engineer at Northwind; her team runs billing on PostgreSQL", 120, 0.6, False),
    ("Ann prefers window seats and always flies out of Boston Logan", 90, 0.5, False),
    ("Ann is training for the Boston half marathon in October", 20, 0.5, False),
    ("Ann's manager at Northwind is Priya Raman", 150, 0.6, False),
    ("Ann drinks oat-milk flat whites, no sugar", 10, 0.3, False),
    ("Remind Ann to renew her passport before March", 60, 0.8, False),
    ("Ann's dentist appointment moved to Tuesday at 9:30", 130, 0.1, False),
    ("Ann just finished Project Hail Mary and wants more hard sci-fi", 75, 0.3, False),
    ("Ann's partner Leo is vegetarian", 100, 0.6, False),
    ("Ann booked a table at Giulia for Friday at 7pm", 160, 0.1, False),
    ("The Wi-Fi password at Ann's parents' house is on the fridge note", 220, 0.1, False),
    ("Ann wants a summary of her calendar every Sunday evening", 5, 0.7, False),
    ("Ann's car is a 2019 Subaru Outback; its next service is due at 60k miles", 70, 0.4, False),
    ("Ann is learning Portuguese on weekday mornings with Duolingo", 35, 0.4, False),
    ("Maya is allergic to cats", 45, 0.8, False),
    ("Ann's flight to Lisbon on May 3rd is TAP 218", 110, 0.2, False),
    ("Ann keeps Fridays free of meetings and prefers calls after 10am", 25, 0.6, False),
    ("Ann's gym is the YMCA on Huntington Avenue", 85, 0.2, False),
    ("Ann's MacBook battery drains fast; she may replace the laptop", 140, 0.15, False),
    ("Ann's mother Rosa lives in Providence", 180, 0.5, False),
    ("Ann's favourite cuisine is Japanese, especially tonkotsu ramen", 55, 0.3, False),
    ("Ann registered for Kafka Summit London", 95, 0.3, False),
    ("Ann's team standup is at 9:15 every weekday", 15, 0.4, False),
    ("Ann left her umbrella at the office", 190, 0.05, False),
    ("Ann's sister Carla is getting married in Lisbon in September", 65, 0.7, False),
    ("Ann paid the April electricity bill", 170, 0.05, False),
    ("Ann is evaluating vector databases for a billing anomaly project", 30, 0.4, False),
]
SUPPORT_MEMORIES = [
    "Customer Acme Corp reports CSV exports time out above 50k rows",
    "Globex is on the Enterprise plan; renewal is due in August",
    "Initech asked for SAML single sign-on with Okta",
    "Umbrella Health needs data residency in the EU region",
    "Refund of $120 approved for Hooli after the March outage",
    "Acme Corp's admin contact is Dana Whitfield",
    "Globex reported slow dashboard loads on Mondays",
    "Stark Industries wants an on-premise deployment quote",
]
SEEDED = len(ASSISTANT_MEMORIES) + len(SUPPORT_MEMORIES)


# ---- browser set-up ------------------------------------------------------------------------


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> tuple[Path, Path]:
    """Debian's chromium and chromium-driver, installed with apt-get when missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            _fail_or_skip("chromium is not installed and apt-get cannot run here (needs root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-q", "--no-install-recommends"]
        install += ["chromium", "chromium-driver", "fonts-dejavu-core"]
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:  # a fresh machine: the package lists may be missing or stale
            subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=900)
            result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not CHROMEDRIVER.exists():
            _fail_or_skip(f"apt-get install chromium failed: {result.stderr[-2000:]}")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture
def browser(chromium: tuple[Path, Path]) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _fail_or_skip("selenium is not installed (pip install -e '.[dev]')")
    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(driver_path)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


# ---- the server and its data ---------------------------------------------------------------


@dataclass
class Server:
    base: str
    data_dir: Path
    database_url: str

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, self.base + path, headers=auth(ADMIN_KEY), timeout=60, **kwargs
        )
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {
        # The screenshot is for people: there, search with the real MiniLM model.
        "MNEMONIX_EMBEDDER": "minilm" if os.environ.get(SCREENSHOT_ENV) else "hash",
        "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
        "MNEMONIX_BOOTSTRAP_TENANT": ASSISTANT,
    }
    with running_server(tmp_path, env) as base:
        yield Server(base, tmp_path / "data", f"sqlite:///{tmp_path / 'mnemonix.db'}")


def _seed(server: Server) -> None:
    """Two tenants through the REST API, the assistant's memories aged, one applied lifecycle run."""
    now = utcnow()
    assistant_key = (server.data_dir / f"{ASSISTANT}.key").read_text().strip()
    support_key = create_tenant_key(server.database_url, SUPPORT)
    batch = [
        {
            "content": content,
            "user_id": "ann",
            "agent_id": "assistant",
            "occurred_at": (now - timedelta(days=days)).isoformat(),
            "importance": importance,
            "pinned": pinned,
        }
        for content, days, importance, pinned in ASSISTANT_MEMORIES
    ]
    response = httpx.post(
        f"{server.base}/v1/memories/batch",
        json={"memories": batch},
        headers=auth(assistant_key),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    ids = response.json()["ids"]
    support = [{"content": c, "agent_id": "support-bot"} for c in SUPPORT_MEMORIES]
    response = httpx.post(
        f"{server.base}/v1/memories/batch",
        json={"memories": support},
        headers=auth(support_key),
        timeout=60,
    )
    assert response.status_code == 201, response.text

    # The assistant has been running for months: its memories were stored when they happened.
    engine = build_engine(server.database_url)
    try:
        with unit_of_work(build_sessionmaker(engine)) as session:
            for memory_id, (_, days, _, _) in zip(ids, ASSISTANT_MEMORIES, strict=True):
                session.execute(
                    update(Memory)
                    .where(Memory.id == uuid.UUID(memory_id))
                    .values(created_at=now - timedelta(days=days))
                )
    finally:
        engine.dispose()

    run = server.admin("POST", "/v1/admin/lifecycle/runs", json={"dry_run": False})
    assert run["dry_run"] is False and run["examined"] >= SEEDED, run

    # The agent keeps recalling: these hits are reinforced, so the next pass warms them up.
    for query in ("what should Ann not eat?", "when is Maya's party?", "who is Ann's manager?"):
        response = httpx.post(
            f"{server.base}/v1/search",
            json={"query": query, "user_id": "ann", "limit": 2},
            headers=auth(assistant_key),
            timeout=60,
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 15  # until the server's background flush records the hits
    while time.monotonic() < deadline:
        listed = httpx.get(
            f"{server.base}/v1/memories", params={"limit": 100}, headers=auth(assistant_key)
        ).json()["items"]
        if any(m["access_count"] for m in listed):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the searches' hits were never recorded")


# ---- the page ------------------------------------------------------------------------------


def _wait(driver: Any, condition: Any, what: str, timeout: float = 30) -> Any:
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # the page re-renders its tables: an element found a moment ago may be gone; look again
    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)
    except TimeoutException:
        body = driver.find_element("tag name", "body")
        raise AssertionError(
            f"timed out waiting for {what}; page state {body.get_attribute('data-state')!r}, "
            f"text: {body.text[:3000]}"
        ) from None


def _text(driver: Any, element_id: str) -> str:
    return str(driver.find_element("id", element_id).text)


def _ready(driver: Any) -> bool:
    state = driver.find_element("tag name", "body").get_attribute("data-state")
    if state == "partial":
        raise AssertionError(f"an admin endpoint failed: {_text(driver, 'error-banner')}")
    return state == "ready"


def test_dashboard_renders_the_admin_api(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _seed(server)
    stats = server.admin("GET", "/v1/admin/stats")
    assert stats["totals"] == {"memories": SEEDED, "tenants": 2}

    browser.get(f"{server.base}/admin")
    assert browser.title.startswith("Mnemonix")

    # A wrong key shows the server's problem detail and keeps the dashboard hidden.
    browser.find_element(By.ID, "admin-key").send_keys("not-the-admin-key")
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, lambda d: d.find_element(By.ID, "login-error").is_displayed(), "login error")
    assert "admin key" in _text(browser, "login-error").lower()
    assert not browser.find_element(By.ID, "dashboard").is_displayed()
    browser.get_log("browser")  # drain: the 401s above were expected

    browser.find_element(By.ID, "admin-key").send_keys(ADMIN_KEY)
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, _ready, "the overview")
    assert ADMIN_KEY not in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('mnemonix.adminKey')") == ADMIN_KEY

    # Overview: the seeded counts.
    assert _text(browser, "metric-memories") == f"{SEEDED:,}"
    assert _text(browser, "metric-tenants") == "2"
    assert _text(browser, "metric-runs") == str(len(stats["lifecycle"]["runs"]))
    tenant_rows = browser.find_elements(By.CSS_SELECTOR, "#tenants-table tbody tr")
    counts = {
        row.get_attribute("data-tenant"): row.find_elements(By.TAG_NAME, "td")[1].text
        for row in tenant_rows
    }
    assert counts == {ASSISTANT: str(len(ASSISTANT_MEMORIES)), SUPPORT: str(len(SUPPORT_MEMORIES))}

    # Tier chart: one bar per tier, each the API's count; the lifecycle moved some out of hot.
    bars = browser.find_elements(By.CSS_SELECTOR, "#tier-chart rect.bar")
    drawn = {bar.get_attribute("data-tier"): int(bar.get_attribute("data-value")) for bar in bars}
    assert set(drawn) >= {"hot", "warm", "cold", "archived"}
    assert drawn == {tier: t["memories"] for tier, t in stats["tiers"].items()} | {
        tier: 0 for tier in ("hot", "warm", "cold", "archived") if tier not in stats["tiers"]
    }
    assert sum(drawn.values()) == SEEDED
    assert sum(1 for n in drawn.values() if n > 0) >= 2, drawn
    heights = [
        float(bar.get_attribute("height")) for bar in bars if bar.get_attribute("data-value") != "0"
    ]
    assert heights and all(h > 0 for h in heights)

    # Channels table: every channel the API reports.
    channel_rows = browser.find_elements(By.CSS_SELECTOR, "#channels-table tbody tr")
    assert {r.get_attribute("data-channel") for r in channel_rows} >= set(stats["channels"])

    # Lifecycle: the applied run is listed; a dry run from the button appears on top.
    runs_before = len(browser.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr"))
    assert runs_before >= 1
    browser.find_element(By.ID, "run-dry").click()
    _wait(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")) == runs_before + 1,
        "the dry run in the runs table",
    )
    _wait(browser, _ready, "the refreshed overview")
    fresh = browser.find_element(By.CSS_SELECTOR, "#runs-table tbody tr.fresh")
    assert "dry run" in fresh.text
    assert "Dry run" in _text(browser, "run-status")
    assert "Nothing was written" in _text(browser, "run-status")
    assert _text(browser, "metric-memories") == f"{SEEDED:,}"  # a dry run changes nothing
    api_runs = server.admin("GET", "/v1/admin/lifecycle/runs")["items"]
    assert len(api_runs) == runs_before + 1
    assert sum(1 for r in api_runs if r["dry_run"]) == 1

    # Search playground: results with per-channel rank, score and explanation.
    Select(browser.find_element(By.ID, "pg-tenant")).select_by_value(ASSISTANT)
    limit = browser.find_element(By.ID, "pg-limit")
    limit.clear()
    limit.send_keys("3")
    browser.find_element(By.ID, "pg-query").send_keys("which foods is Ann allergic to?")
    browser.find_element(By.ID, "pg-search").click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pg-results li.result"), "results")
    results = browser.find_elements(By.CSS_SELECTOR, "#pg-results li.result")
    contents = [r.find_element(By.CSS_SELECTOR, ".content").text for r in results]
    assert "Ann is allergic to peanuts and shellfish" in contents, contents
    top = results[contents.index("Ann is allergic to peanuts and shellfish")]
    keyword = top.find_element(By.CSS_SELECTOR, "tr[data-channel='keyword']")
    assert keyword.get_attribute("class") == "hit"
    assert keyword.find_elements(By.TAG_NAME, "td")[0].text.startswith("#")
    why = keyword.find_element(By.CSS_SELECTOR, "td.explanation").text
    assert "matched terms" in why and "allerg" in why, why
    explained = browser.find_elements(By.CSS_SELECTOR, "#pg-results tr.hit dl.why")
    assert len(explained) >= len(results)
    assert "results in" in _text(browser, "pg-meta")
    assert not browser.find_element(By.ID, "pg-error").is_displayed()

    # API keys: create a narrow key (read only, bound to one user, its own limit), see its
    # secret once, check it works as shown, then revoke it from the table.
    Select(browser.find_element(By.ID, "keys-tenant")).select_by_value(SUPPORT)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#keys-table tbody tr"), "keys")
    keys_before = len(browser.find_elements(By.CSS_SELECTOR, "#keys-table tbody tr"))
    browser.find_element(By.ID, "key-name").send_keys("ann's assistant")
    for scope in ("write", "delete"):
        browser.find_element(By.CSS_SELECTOR, f"#key-scopes input[value='{scope}']").click()
    browser.find_element(By.ID, "key-user").send_keys("ann")
    browser.find_element(By.ID, "key-rate").send_keys("5")
    browser.find_element(By.ID, "key-create").click()
    _wait(browser, lambda d: d.find_element(By.ID, "key-secret").is_displayed(), "new key")
    secret = _text(browser, "key-secret-value")
    assert secret.startswith("mnx_")
    rows = browser.find_elements(By.CSS_SELECTOR, "#keys-table tbody tr")
    assert len(rows) == keys_before + 1
    made = [k for k in server.admin("GET", f"/v1/admin/tenants/{SUPPORT}/keys")["items"]]
    created = next(k for k in made if k["name"] == "ann's assistant")
    assert (created["scopes"], created["user_id"]) == (["read"], "ann")
    assert created["rate_limit"] == {"per_second": 5.0, "burst": None}
    row = browser.find_element(By.CSS_SELECTOR, f"#keys-table tr[data-key='{created['id']}']")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[2:5] == ["read", "user ann", "5/s"] and cells[6] == "active", cells
    assert secret not in browser.find_element(By.ID, "keys-table").text
    write = httpx.post(
        f"{server.base}/v1/memories", json={"content": "x"}, headers=auth(secret), timeout=30
    )
    assert write.status_code == 403
    assert httpx.get(f"{server.base}/v1/memories", headers=auth(secret)).status_code == 200
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    browser.switch_to.alert.accept()
    _wait(
        browser,
        lambda d: (
            "revoked"
            in d.find_element(By.CSS_SELECTOR, f"#keys-table tr[data-key='{created['id']}']").text
        ),
        "revoked key",
    )
    assert httpx.get(f"{server.base}/v1/memories", headers=auth(secret)).status_code == 401

    # Nothing came from another origin, and the console is clean.
    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(origins) <= {server.base}, origins
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe

    if target := os.environ.get(SCREENSHOT_ENV):
        browser.execute_script("window.scrollTo(0, 0)")
        for _ in range(3):  # grow the window until the whole page fits in the viewport
            page, view = browser.execute_script(
                "return [document.documentElement.scrollHeight, window.innerHeight]"
            )
            if view >= page:
                break
            browser.set_window_size(1400, browser.get_window_size()["height"] + page - view)
        time.sleep(0.5)
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(path))


def test_page_and_assets_are_static_and_locked_down(server: Server) -> None:
    page = httpx.get(f"{server.base}/admin")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text
    for asset, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        response = httpx.get(f"{server.base}/admin/static/{asset}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    for name in ("index.html", "../endpoints.py", "..%2Fendpoints.py", "nope.js"):
        assert httpx.get(f"{server.base}/admin/static/{name}").status_code == 404


def test_playground_search_needs_the_admin_key(server: Server) -> None:
    key = (server.data_dir / f"{ASSISTANT}.key").read_text().strip()
    body = {"content": "Ann is allergic to peanuts", "user_id": "ann"}
    assert httpx.post(f"{server.base}/v1/memories", json=body, headers=auth(key)).status_code == 201
    url = f"{server.base}/v1/admin/tenants/{ASSISTANT}/search"
    query = {"query": "peanuts", "explain": True}
    assert httpx.post(url, json=query).status_code == 401
    assert httpx.post(url, json=query, headers=auth(key)).status_code == 403
    response = httpx.post(url, json=query, headers=auth(ADMIN_KEY))
    assert response.status_code == 200, response.text
    (hit,) = response.json()["results"]
    assert hit["memory"]["content"] == body["content"]
    assert "keyword" in hit["channels"] and "keyword" in hit["explanation"]
    missing = httpx.post(
        f"{server.base}/v1/admin/tenants/nobody/search", json=query, headers=auth(ADMIN_KEY)
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "nobody" in missing.json()["detail"]
    # Playground searches are not retrievals: after a tenant's own search is flushed, the
    # memory's access count is 1, not 2.
    assert httpx.post(f"{server.base}/v1/search", json=query, headers=auth(key)).status_code == 200
    deadline = time.monotonic() + 15
    count = 0
    while time.monotonic() < deadline and count == 0:
        time.sleep(0.5)
        listed = httpx.get(f"{server.base}/v1/memories", headers=auth(key)).json()["items"]
        count = listed[0]["access_count"]
    assert count == 1
