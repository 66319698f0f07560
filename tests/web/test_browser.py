"""End to end in headless Chromium: the real hub served on loopback, a real forking worker process
(``flask hub worker``) and the vendor sandboxes over loopback. Screenshots of the main pages go to
``artifacts/screenshots/`` (kept by CI).

Chromium is Debian's package (``scripts/install-browser.sh``), driven by Playwright's Python API. The same script
installs axe-core (the npm package, pinned there) into a cache folder: :func:`accessible` runs it on each main page
and allows no serious or critical violation (issue 15.11), with WCAG 2.5.3 (the visible label inside the accessible
name) switched on.
"""

import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 60_000  # a generous ceiling for the worker's answers; never a timing assertion

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(run scripts/install-browser.sh)"),
]

AXE_VERSION = re.search(r'^AXE_VERSION="([^"]+)"', (Path(__file__).resolve().parents[2] / "scripts" /
                                                    "install-browser.sh").read_text(), re.M).group(1)
AXE_JS = (Path(os.environ.get("HUB_AXE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
               / "integration-hub" / f"axe-core-{AXE_VERSION}") / "node_modules" / "axe-core" / "axe.min.js")

DIRECTO_TOKEN = "dxd-demo-7f3a9c2e51b84d06"
DIRECTO_DATABASE_NAME = "Uku Demo Raamatupidamine OÜ"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def live_hub(hub_app, web_firm, serve, hub_database_url, hub_redis_url, tmp_path):
    """The hub on a loopback port, the Directo and Scoro sandboxes, and a forking worker process."""
    from hub_directo import sandbox as directo
    from hub_scoro import sandbox as scoro

    sandboxes = {"directo": directo.create_app(), "scoro": scoro.create_app()}
    origins = {slug: serve(app) for slug, app in sandboxes.items()}
    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
               HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
               SECRET_KEY=hub_app.secret_key,  # tested credentials are fingerprinted with it (web and worker)
               HUB_DIRECTO_ORIGIN=origins["directo"], HUB_SCORO_ORIGIN=origins["scoro"])
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        # the supervised job process starts a moment after the command: wait until it listens (never a timing
        # assertion: the ceiling is generous)
        redis_conn = hub_app.extensions["hub"].redis
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not redis_conn.scard("rq:workers") and time.monotonic() < deadline:
            time.sleep(0.1)
        yield {"origin": serve(hub_app), "firm_id": web_firm, "worker_log": tmp_path / "worker.log",
               "sandboxes": sandboxes}
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


@pytest.fixture
def quiet_hub(hub_app, web_firm, serve):
    """The hub on a loopback port without a worker or sandboxes, for pages that start no background job
    (a worker process takes seconds to start on a loaded machine)."""
    return {"origin": serve(hub_app), "firm_id": web_firm}


def _new_page(browser, origin: str):
    context = browser.new_context(base_url=origin, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_hub):
    context, page = _new_page(browser, live_hub["origin"])
    yield page
    context.close()


@pytest.fixture
def quiet_page(browser, quiet_hub):
    context, page = _new_page(browser, quiet_hub["origin"])
    yield page
    context.close()


UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
    .filter(el => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
    .map(el => el.name || el.id)"""


def shot(page, name: str) -> None:
    """Save a screenshot of the page, checking on the way that every input has a label."""
    assert page.evaluate(UNLABELLED) == [], f"inputs without a label on {page.url}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"],
                                            rules: {"label-content-name-mismatch": {enabled: true}}});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}"""

# WCAG 2.5.3 as a rule of our own besides axe's (experimental) one: wherever a control named by its content (a
# link, a button, a summary) has an aria-label and visible text, the label contains the text (case and spacing aside).
NAME_MISMATCH = """() => Array.from(document.querySelectorAll(
        "a[aria-label], button[aria-label], summary[aria-label], [role=button][aria-label], [role=link][aria-label]"))
    .filter(el => el.offsetParent !== null || el.getClientRects().length)
    .map(el => [el.innerText.replace(/\\s+/g, " ").trim().toLowerCase(),
                el.getAttribute("aria-label").replace(/\\s+/g, " ").trim().toLowerCase(), el.outerHTML.slice(0, 120)])
    .filter(([text, label]) => text && !label.includes(text))
    .map(([text, label, html]) => html)"""


def accessible(page) -> None:
    """axe-core on the page as it is: no serious or critical violation, and visible text inside accessible names."""
    assert AXE_JS.exists(), f"axe-core is missing at {AXE_JS}: run scripts/install-browser.sh"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text())  # evaluated, not a <script>: the hub's CSP allows no inline script
    violations = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]
    assert violations == [], f"axe on {page.url}: {violations}"
    assert page.evaluate(NAME_MISMATCH) == [], f"visible text outside the accessible name on {page.url}"


def header_fits(page, width: int = 390) -> None:
    """At a phone's width the header wraps instead of overflowing (no horizontal scrolling)."""
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": 844})
    try:
        overflow = page.evaluate("""() => {
            const header = document.querySelector("header.top");
            const items = Array.from(header.querySelectorAll("a, button, span"));
            return {page: document.documentElement.scrollWidth, header: header.scrollWidth,
                    outside: items.filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                                  .map(el => el.textContent.trim())};
        }""")
        assert overflow["page"] <= width and overflow["header"] <= width and not overflow["outside"], overflow
        shot(page, f"00-header-{width}px")
    finally:
        page.set_viewport_size(size)


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Settings & Apps").wait_for()


def open_dialog(page, vendor: str) -> None:
    page.goto("/settings/apps")
    page.get_by_role("link", name=vendor, exact=True).click()
    page.get_by_role("heading", name=vendor, exact=True).wait_for()


def tab(page, name: str) -> None:
    page.get_by_role("navigation", name=re.compile("integration$")).get_by_role("link", name=name, exact=True).click()


def map_to_new_field(page, vendor_field: str, new_name: str) -> None:
    page.get_by_label(vendor_field, exact=True).select_option(label="+ New custom field…")
    page.get_by_label(f"New custom field name for {vendor_field}").fill(new_name)


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_directo_admin_journey(page, live_hub, hub_app):
    """The admin's whole way through Directo, with axe on every main page (15.11) and, at the end, a Reload where
    one client fails: "Completed with failures" in amber and "1 client needs attention" (15.5, 15.6)."""
    from playwright.sync_api import expect

    page.goto("/login")
    accessible(page)
    sign_in(page, "owner@test.example", "owner-pass")
    accessible(page)
    header_fits(page)
    shot(page, "01-settings-and-apps")

    # Overview: Enable
    open_dialog(page, "Directo")
    expect(page.get_by_role("heading", name="Why is no data showing?")).to_be_visible()
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Directo is enabled")).to_be_visible()
    accessible(page)
    shot(page, "02-integration-overview")

    # Connect: a token with trailing spaces, Test connection shows the database name, Save
    tab(page, "Connect")
    page.get_by_label("Access token").fill(DIRECTO_TOKEN + "   ")
    page.get_by_label("Company database code").fill("uku_demo")
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Connection works.")
    expect(result).to_contain_text(DIRECTO_DATABASE_NAME)
    assert DIRECTO_TOKEN not in page.content(), "the token is never put back into the page"
    accessible(page)
    shot(page, "03-connect-test-connection")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".dialog-head .status")).to_contain_text(f"Connected to {DIRECTO_DATABASE_NAME}")

    # Save of a revoked token: tested first, refused, the working token stays in use (issue 15.1)
    from hub_directo import sandbox as directo

    page.get_by_label("Access token").fill(directo.REVOKED_CREDENTIALS["token"])
    page.get_by_role("button", name="Save").click()
    rejected = page.locator("#rejected-draft")
    expect(rejected).to_contain_text("The new credentials were not saved.")
    expect(rejected).to_contain_text("The saved credentials are still in use.")
    expect(rejected.get_by_role("button", name="Replace anyway")).to_be_visible()
    expect(page.locator(".dialog-head .status").first).to_contain_text(f"Connected to {DIRECTO_DATABASE_NAME}")
    assert directo.REVOKED_CREDENTIALS["token"] not in page.content()
    shot(page, "03b-connect-save-refused")
    rejected.get_by_role("button", name="Discard the new credentials").click()
    expect(page.get_by_text("The new credentials were discarded")).to_be_visible()

    # Invoices: products (articles) read from Directo by the worker
    tab(page, "Invoices")
    page.get_by_role("button", name="Refresh products from Directo").click()
    expect(page.get_by_text(re.compile(r"Read \d+ from Directo|Reading from Directo"))).to_be_visible()
    accessible(page)
    shot(page, "04a-invoices-products-and-tax-rates")

    # Settings: task title, import day, Configure data fields with New custom field and Show more
    tab(page, "Settings")
    page.get_by_label("Task title").fill("Monthly summary")
    page.get_by_label("Import data").select_option(label="Day 5 of the following month")
    map_to_new_field(page, "Sale entries", "Sale entries")
    map_to_new_field(page, "Documents", "Documents")
    page.get_by_text("Show more").click()
    map_to_new_field(page, "Credit invoices", "Credit invoices")
    accessible(page)
    shot(page, "04-settings-mapping")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The data field mapping changed")).to_be_visible()
    expect(page.get_by_label("Sale entries", exact=True)).to_have_value(re.compile(r"^\d+$"))

    # Clients: link Client 1 through the lookup
    page.get_by_role("link", name="Clients", exact=True).click()
    page.get_by_role("link", name="Set integration for Client 1").click()
    page.get_by_label("Integration", exact=True).select_option(label="Directo")
    page.get_by_role("button", name="Choose").click()
    page.get_by_label("Search by name or reg. code").fill("puit")
    page.get_by_role("button", name="Search").click()
    picks = page.locator("ul.picks input[type=radio]")
    expect(picks.first).to_be_visible()
    shot(page, "05-client-lookup")
    picked_name = page.locator("ul.picks li").first.inner_text().split(" (")[0].strip()
    picks.first.check()
    page.locator("form", has=picks.first).get_by_role("button", name="Save").click()
    expect(page.get_by_text("Client 1 is linked to Directo client")).to_be_visible()
    expect(page.locator("tr", has_text="Client 1").locator(".integration-cell")).to_contain_text(picked_name)
    accessible(page)
    shot(page, "06-clients-integration-column")

    # Reload data: confirmation, progress, notification
    open_dialog(page, "Directo")
    tab(page, "Settings")
    page.get_by_role("link", name="Reload data").click()
    expect(page.get_by_text("overwrites the existing summary task field values")).to_be_visible()
    shot(page, "07-reload-confirmation")
    page.get_by_role("button", name="Confirm: reload and overwrite").click()
    expect(page.get_by_text("clients done")).to_be_visible()
    shot(page, "08-reload-progress")
    expect(page.locator("#run-status")).to_have_text("Succeeded")
    expect(page.locator("#run-progress-text")).to_have_text("1 of 1")
    expect(page.locator("#run-notification")).to_contain_text("Reload data finished for Directo")
    accessible(page)
    shot(page, "09-reload-finished")
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("link", name="Reload data finished for Directo")).to_have_attribute(
        "href", re.compile(r"^/history/runs/\d+$"))  # every notification links to what it is about (15.7)
    expect(page.get_by_text("1 of 1 clients imported for the last 12 months.")).to_be_visible()
    accessible(page)
    shot(page, "10-notifications")

    # The client page: the imported values, where and when they came from
    page.get_by_role("link", name="Clients", exact=True).click()
    page.get_by_role("link", name="Client 1", exact=True).click()
    table = page.locator("table.summary")
    expect(table).to_contain_text("Sale entries")
    expect(table).to_contain_text(f"directo: {picked_name}")
    assert table.locator("tbody tr").count() == 12
    values = [int(v) for v in table.locator("tbody td.num").all_inner_texts() if v.strip().isdigit()]
    assert values and any(v > 0 for v in values), values
    shot(page, "11-client-summary-tasks")

    # A new invoice on the client page (a draft; Issue would export it)
    page.get_by_label("Number", exact=True).fill("2026-100")
    page.get_by_label("Line 1 description").fill("Bookkeeping, October")
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill("75,5")
    page.get_by_label("Line 1 VAT rate %").fill("22")
    page.get_by_role("button", name="More line rows").click()  # in place: nothing typed is lost (15.9)
    expect(page.get_by_label("Line 6 description")).to_be_visible()
    expect(page.get_by_label("Line 1 unit price")).to_have_value("75,5")
    expect(page.get_by_label("Number", exact=True)).to_have_value("2026-100")
    page.get_by_label("Line 4 description").focus()
    shot(page, "11a-invoice-more-line-rows")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Invoice 2026-100 saved as a draft (184.22 EUR)")).to_be_visible()
    expect(page.get_by_role("button", name="Issue invoice 2026-100")).to_be_visible()
    accessible(page)
    shot(page, "11b-client-invoice-draft")

    # The checklist now answers from the real state
    open_dialog(page, "Directo")
    checklist = page.locator(".checklist")
    expect(checklist).to_contain_text("1 of 3 clients linked")
    expect(checklist).to_contain_text("Next scheduled import")
    expect(checklist).not_to_contain_text("None yet")
    shot(page, "12-integration-checklist")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("table.runs")).to_contain_text("Reload data")
    accessible(page)
    shot(page, "13-history")
    page.get_by_role("link", name="Audit trail", exact=True).click()
    audit_row = page.locator("table.audit tbody tr", has_text="Reload started for Directo (1 client)")
    expect(audit_row).to_contain_text("Owner")  # the person's name (15.10)
    expect(page.locator("table.audit")).not_to_contain_text("reload.started")
    accessible(page)
    shot(page, "14-audit-trail")
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    accessible(page)
    shot(page, "14a-users")

    # A Reload where one client fails (its own Directo token is revoked): amber "Completed with failures", the
    # failed client with the vendor's reason (15.5); the card and the Overview say "1 client needs attention" and
    # link to that client (15.6)
    from hub_directo import sandbox as directo

    from hub import linking, vendor_accounts
    from hub.models import Client, Integration, db

    with hub_app.app_context():
        integration = Integration.query.filter_by(firm_id=live_hub["firm_id"], vendor="directo").one()
        client_2 = Client.query.filter_by(firm_id=live_hub["firm_id"], name="Client 2").one()
        link = linking.link_client(None, client_id=client_2.id, integration=integration, vendor_client_id="K0002",
                                   vendor_client_name="Client 2 in Directo")
        vendor_accounts.store_credentials(link, vendor_accounts.vendor_of(integration).schema,
                                          {"token": directo.REVOKED_CREDENTIALS["token"], "database": "uku_demo"})
        link.status = "ok"
        db.session.commit()
        db.session.remove()
    open_dialog(page, "Directo")
    tab(page, "Settings")
    page.get_by_role("link", name="Reload data").click()
    page.get_by_role("button", name="Confirm: reload and overwrite").click()
    expect(page.locator("#run-status")).to_have_text("Completed with failures")
    amber = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--warn').trim()")
    assert page.locator("#run-status").evaluate("el => getComputedStyle(el).color") == \
        page.evaluate(f"(() => {{ const e = document.createElement('i'); e.style.color = '{amber}'; "
                      "document.body.append(e); const c = getComputedStyle(e).color; e.remove(); return c; })()")
    failed = page.locator("#failed-clients")
    expect(failed).to_contain_text("1 of 2 clients failed:")
    expect(failed.get_by_role("link", name="Client 2")).to_be_visible()
    expect(failed).to_contain_text("revoked")
    expect(page.locator("#run-status")).not_to_have_text("Succeeded")
    accessible(page)
    shot(page, "09b-reload-completed-with-failures")
    page.goto("/settings/apps")
    card = page.locator("section.card[data-vendor=directo]")
    expect(card.get_by_role("link", name="1 client needs attention")).to_be_visible()
    shot(page, "01b-card-clients-need-attention")
    open_dialog(page, "Directo")
    page.locator(".dialog-head").get_by_role("link", name="1 client needs attention").click()
    listed = page.locator("table.clients tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Client 2")
    expect(listed.first.get_by_role("link", name=re.compile("^Needs attention"))).to_be_visible()
    accessible(page)
    shot(page, "06c-clients-needing-attention")


def test_scoro_full_url_subdomain_shows_the_clear_message(page):
    from hub_scoro import sandbox as scoro
    from playwright.sync_api import expect

    sign_in(page, "owner@test.example", "owner-pass")
    open_dialog(page, "Scoro")
    page.get_by_role("button", name="Enable").click()
    tab(page, "Connect")
    page.get_by_label("Company account ID").fill("acme")
    page.get_by_label("API key").fill(scoro.DEMO_CREDENTIALS["api_key"])
    page.get_by_label("Subdomain").fill("https://acme.scoro.com/")
    page.get_by_role("button", name="Test connection").click()
    message = "Enter only the prefix of your Scoro address, not the full address: use acme."
    expect(page.locator("#cred-subdomain-errors")).to_contain_text(message)
    expect(page.get_by_label("Subdomain")).to_have_attribute("aria-invalid", "true")
    assert scoro.DEMO_CREDENTIALS["api_key"] not in page.content()
    expect(page.locator(".secret-entered")).to_contain_text("New API key entered (not shown)")  # kept (15.2)
    shot(page, "14-scoro-subdomain-message")
    page.get_by_label("Subdomain").fill("acme")  # the key is NOT typed again: the draft has it
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connection works.")


def test_client_list_search_filter_and_pages(quiet_page, quiet_hub, hub_app):
    """1,000 clients (issue 15.8): search and pages in the browser."""
    page, live_hub = quiet_page, quiet_hub  # no job starts here: no worker needed
    from playwright.sync_api import expect

    from hub.models import Client, db

    with hub_app.app_context():
        db.session.add_all([Client(firm_id=live_hub["firm_id"], name=f"Big client {i:04d}") for i in range(1000)])
        db.session.commit()
    sign_in(page, "owner@test.example", "owner-pass")
    page.get_by_role("link", name="Clients", exact=True).click()
    expect(page.locator(".pager")).to_contain_text("1–50 of 1003 clients · page 1 of 21")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".pager")).to_contain_text("page 2 of 21")
    page.get_by_label("Search").fill("big client 0777")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.clients tbody tr")).to_have_count(1)
    expect(page.locator("table.clients")).to_contain_text("Big client 0777")
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option(label="Not connected")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".pager")).to_contain_text("of 1003 clients")
    shot(page, "06b-clients-1000-filtered")


def test_member_cannot_change_anything(quiet_page, quiet_hub, hub_app):
    page, live_hub = quiet_page, quiet_hub  # no job starts here: no worker needed
    from playwright.sync_api import expect

    from hub import connections
    from hub.models import db

    with hub_app.app_context():
        integration = connections.get_or_create_integration(live_hub["firm_id"], "directo")
        connections.set_enabled(integration, True)
        db.session.remove()
    sign_in(page, "member@test.example", "member-pass")
    open_dialog(page, "Directo")
    expect(page.get_by_text("Only a Company Owner or Company Admin can change integrations")).to_be_visible()
    expect(page.get_by_role("button", name="Disable")).to_have_count(0)
    tab(page, "Connect")
    expect(page.get_by_label("Access token")).to_be_disabled()
    expect(page.get_by_role("button", name="Test connection")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    shot(page, "15-member-read-only")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in ("/settings/apps/directo/disable", "/settings/apps/directo/connect", "/settings/apps/directo/reload"):
        response = page.request.post(path, form={"csrf_token": token, "token": DIRECTO_TOKEN, "database": "uku_demo",
                                                 "action": "save"})
        assert response.status == 403, path
    page.get_by_role("link", name="Clients", exact=True).click()
    expect(page.get_by_role("link", name="Set integration")).to_have_count(0)


def test_free_plan_cannot_enable(quiet_page, quiet_hub, hub_app):
    page, live_hub = quiet_page, quiet_hub  # no job starts here: no worker needed
    from playwright.sync_api import expect

    from hub.models import Firm, Integration, db

    with hub_app.app_context():
        db.session.get(Firm, live_hub["firm_id"]).plan = "free"
        db.session.commit()
        db.session.remove()
    sign_in(page, "owner@test.example", "owner-pass")
    expect(page.get_by_text("Integrations are available on the Team plan and above.")).to_be_visible()
    open_dialog(page, "Directo")
    expect(page.get_by_role("button", name="Enable")).to_be_disabled()
    shot(page, "16-free-plan")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert page.request.post("/settings/apps/directo/enable", form={"csrf_token": token}).status == 403
    with hub_app.app_context():
        assert not Integration.query.filter_by(firm_id=live_hub["firm_id"], enabled=True).count()
        db.session.remove()


def test_forged_post_without_csrf_token_is_refused(quiet_page, quiet_hub, hub_app):
    page, live_hub = quiet_page, quiet_hub  # no job starts here: no worker needed
    from hub.models import Integration, db

    sign_in(page, "owner@test.example", "owner-pass")
    # the signed-in browser's cookies go along, as they would with a form on another site
    assert page.request.post("/settings/apps/directo/enable", form={}).status == 400
    assert page.request.post("/settings/apps/directo/enable", form={"csrf_token": "forged"}).status == 400
    with hub_app.app_context():
        assert not Integration.query.filter_by(firm_id=live_hub["firm_id"], enabled=True).count()
        db.session.remove()


def test_test_connection_falls_back_to_polling_the_run(page, hub_app, monkeypatch):
    """When the worker has not answered within the page's wait, the result box polls the run and the
    page shows the vendor's answer when it comes."""
    from playwright.sync_api import expect

    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)
    sign_in(page, "owner@test.example", "owner-pass")
    open_dialog(page, "Directo")
    page.get_by_role("button", name="Enable").click()
    tab(page, "Connect")
    page.get_by_label("Access token").fill(DIRECTO_TOKEN)
    page.get_by_label("Company database code").fill("uku_demo")
    page.get_by_role("button", name="Test connection").click()
    # The answer comes from the worker process, which may still be starting on a loaded machine (importing
    # the hub takes several seconds there): wait for it as a patient admin would, not Playwright's 5 s.
    expect(page.locator("#test-result")).to_contain_text(DIRECTO_DATABASE_NAME, timeout=60_000)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".dialog-head .status")).to_contain_text(f"Connected to {DIRECTO_DATABASE_NAME}")


def test_linking_lifecycle_mismatch_relink_reload_unlink_and_bulk(page, live_hub, hub_app):
    """Issue 14 in the browser: a manual link to another company warns; relink + Reload replaces the old
    record's months; unlink after imports keeps them; client details are edited; suggested matches are
    confirmed in bulk; the Clients page shows who is unlinked."""
    from playwright.sync_api import expect

    from hub import connections, statistics
    from hub.models import Client, db

    with hub_app.app_context():
        integration = connections.get_or_create_integration(live_hub["firm_id"], "directo")
        connections.set_enabled(integration, True)
        connections.save_credentials(integration, {"token": DIRECTO_TOKEN, "database": "uku_demo"})
        field = statistics.create_custom_field(live_hub["firm_id"], "Documents")
        statistics.save_summary_settings(integration, {"mapping": {"documents": field.id}})
        client = Client.query.filter_by(firm_id=live_hub["firm_id"]).order_by(Client.id).first()
        client.name = "Viljandi Veski OÜ"
        db.session.commit()
        client_id = client.id
        db.session.remove()
    sign_in(page, "owner@test.example", "owner-pass")
    page.goto("/clients")
    expect(page.get_by_role("link", name="3 not linked to Directo")).to_be_visible()

    def pick(index: int) -> tuple[str, str]:
        page.goto(f"/clients/{client_id}/integration?vendor=directo")
        page.get_by_label("Search by name or reg. code").fill("")
        page.get_by_role("button", name="Search").click()
        picks = page.locator("ul.picks li")
        expect(picks.nth(index)).to_be_visible()
        label = picks.nth(index).inner_text()
        picks.nth(index).locator("input[type=radio]").check()
        page.locator("form", has=picks.nth(index)).get_by_role("button", name="Save").click()
        reg = re.search(r"reg\. (\S+?)[ )·]", label)
        return label.split(" (")[0].strip(), reg.group(1) if reg else ""

    # a manual link to another company: the warning names what disagrees
    first_name, _ = pick(0)
    expect(page.get_by_text(f"Check the link of Viljandi Veski OÜ: the name '{first_name}' is not")).to_be_visible()
    page.goto(f"/clients/{client_id}/integration?vendor=directo")
    expect(page.locator(".link-warning").first).to_contain_text(f"the name '{first_name}' is not 'Viljandi Veski OÜ'")
    shot(page, "16-link-mismatch-warning")

    def reload_client() -> None:
        page.goto(f"/clients/{client_id}/integration?vendor=directo")
        page.get_by_role("link", name="Reload data").click()
        page.get_by_role("button", name=re.compile("Confirm")).click()
        expect(page.locator("#run-status")).to_have_text("Succeeded")

    reload_client()
    page.goto(f"/clients/{client_id}")
    expect(page.locator("table.summary")).to_contain_text(f"directo: {first_name}")
    # relink to another record, then Reload: every month now comes from the new record
    second_name, second_reg = pick(1)
    expect(page.get_by_text("Reload data for it to replace the months imported from the previous record")) \
        .to_be_visible()
    reload_client()
    page.goto(f"/clients/{client_id}")
    table = page.locator("table.summary")
    expect(table).to_contain_text(f"directo: {second_name}")
    expect(table).not_to_contain_text(f"directo: {first_name}")
    assert table.locator("tbody tr").count() == 12
    shot(page, "17-relinked-and-reloaded")

    # unlink after imports: history stays
    page.goto(f"/clients/{client_id}/integration?vendor=directo")
    expect(page.get_by_text("What came through it stays")).to_be_visible()
    page.get_by_role("button", name="Remove link to Directo").click()
    expect(page.get_by_text("Its imported months and invoices stay.")).to_be_visible()
    page.goto(f"/clients/{client_id}")
    assert page.locator("table.summary tbody tr").count() == 12

    # client details: the registration code of the second record, so a suggestion can find it
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Registration code").fill(second_reg)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator(".has-error")).to_contain_text("E-mail: enter an e-mail address such as name@example.com.")
    page.get_by_label("E-mail").fill("books@veski.example")
    page.get_by_label("Customer type").select_option(label="Company")
    shot(page, "18-client-details")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Details of Viljandi Veski OÜ saved.")).to_be_visible()

    # suggested matches, confirmed in bulk
    page.goto("/clients")
    page.get_by_role("link", name="Link clients in bulk").click()
    page.get_by_role("button", name="Find suggested matches").click()
    row = page.locator("table.suggestions tr", has_text="Viljandi Veski OÜ")
    expect(row).to_contain_text(second_name)
    expect(row).to_contain_text("registration code")
    shot(page, "19-suggested-matches")
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Link selected").click()
    expect(page.get_by_text(re.compile(r"\d+ client\(s\) linked to Directo"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"[12] not linked to Directo"))).to_be_visible()
    expect(page.locator("tr", has_text="Viljandi Veski OÜ")).to_have_count(0)  # the unlinked filter


def test_bulk_link_page_with_1000_clients_and_a_refused_settings_save(quiet_page, quiet_hub, hub_app):
    """Issue 29: the bulk-link page pages the clients without a suggestion and acts on the integration shown;
    a refused Settings save creates nothing (the new custom field typed on it stays typed, not created)."""
    page, live_hub = quiet_page, quiet_hub  # the suggestions run is arranged as finished: no worker needed
    from playwright.sync_api import expect

    from hub import connections
    from hub.models import Client, CustomField, SyncRun, db

    with hub_app.app_context():
        firm_id = live_hub["firm_id"]
        directo = connections.get_or_create_integration(firm_id, "directo")
        connections.set_enabled(directo, True)
        connections.set_enabled(connections.get_or_create_integration(firm_id, "trigon"), True)
        db.session.add_all([Client(firm_id=firm_id, name=f"Unmatched client {i:04d}") for i in range(1000)])
        db.session.commit()
        ids = [c.id for c in Client.query.filter_by(firm_id=firm_id).order_by(Client.id)]
        run = SyncRun(firm_id=firm_id, integration_id=directo.id, kind="link_suggestions", status="succeeded",
                      result={"vendor_records": 0, "clients": len(ids), "suggestions": [],
                              "unmatched_client_ids": ids})
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    sign_in(page, "owner@test.example", "owner-pass")
    page.goto(f"/clients/links?vendor=directo&run={run_id}")
    expect(page.locator("ul.unmatched li")).to_have_count(50)
    expect(page.locator(".pager")).to_contain_text("of 1003 clients without a suggestion · page 1 of 21")
    assert page.evaluate("document.documentElement.scrollHeight") < 6000, "one page of 50, not a thousand"
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".pager")).to_contain_text("page 2 of 21")
    accessible(page)
    shot(page, "19b-bulk-link-pages")
    # another integration chosen: the page shows it at once, and the search names it
    page.get_by_label("Integration").select_option(label="Trigon")
    expect(page.get_by_role("button", name="Find suggested matches in Trigon")).to_be_visible()

    # a refused Settings save: nothing created
    open_dialog(page, "Directo")
    tab(page, "Settings")
    page.get_by_label("Task title").fill("   ")  # blank once trimmed: refused by the hub, not the browser
    map_to_new_field(page, "Documents", "Never created")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Task title is required.")).to_be_visible()
    expect(page.get_by_label("New custom field name for Documents")).to_have_value("Never created")
    with hub_app.app_context():
        assert CustomField.query.filter_by(name="Never created").count() == 0


@pytest.fixture
def oauth_vendor(serve, monkeypatch):
    """The OAuth example vendor's sandbox (the kit's authorisation server) on loopback, and the operator settings
    that point the hub and its worker at it; ask for it before ``page`` (the worker reads the environment)."""
    from hub_oauthexample import sandbox

    app = sandbox.create_app()
    monkeypatch.setenv("HUB_OAUTHEXAMPLE_ORIGIN", serve(app))
    for name, value in sandbox.DEMO_SETTINGS.items():
        monkeypatch.setenv(f"HUB_OAUTHEXAMPLE_{name.upper()}", value)
    return app


def test_oauth_connect_journey_and_reconnect(oauth_vendor, page, live_hub, hub_app):
    """Connect with OAuth Example → the kit's authorisation server → back connected (issue 30); a revoked grant
    shows "needs attention" with Reconnect, and Reconnect restores it."""
    from playwright.sync_api import expect

    sign_in(page, "owner@test.example", "owner-pass")
    open_dialog(page, "OAuth Example")
    page.get_by_role("button", name="Enable").click()
    tab(page, "Connect")
    page.get_by_role("button", name="Connect with OAuth Example").click()
    # the browser went to the vendor's page, which approved and sent it back; the worker tested the connection
    expect(page.locator("#oauth")).to_contain_text("Connected with OAuth Example to Demo Books OÜ", timeout=60_000)
    accessible(page)
    shot(page, "oauth-connected")
    oauth_vendor.extensions["oauth"].revoke_all()
    with hub_app.app_context():
        from hub import connections, jobs
        from hub.models import Integration

        run = connections.lookup_clients(Integration.query.filter_by(vendor="oauthexample").one(), "Client")
        assert jobs.wait_for(run, TIMEOUT_MS / 1000).status == "failed"  # the worker's answer (it wakes the wait)
    page.reload()
    expect(page.locator("#oauth")).to_contain_text("needs attention")
    page.get_by_role("button", name="Reconnect", exact=True).click()
    expect(page.locator("#oauth")).to_contain_text("Connected with OAuth Example to Demo Books OÜ", timeout=60_000)


@pytest.fixture
def merit_vendor(serve, monkeypatch):
    """Merit's sandbox on loopback, its rate limits off, for the hub and its worker; ask for it before ``page``
    (the worker reads the environment when it starts)."""
    from hub_merit import sandbox

    app = sandbox.create_app()
    monkeypatch.setenv("HUB_MERIT_ORIGIN", serve(app))
    monkeypatch.setenv("HUB_MERIT_RATE_LIMITS", "off")
    return app


def _own_account(hub_app, firm_id: int, client_name: str, vendor: str, firm_credentials: dict,
                 own_credentials: dict) -> int:
    """Links the client to ``vendor`` with its own account (credentials of its own), as other browser tests arrange
    links in the app context; returns the client's id."""
    from hub import connections, linking
    from hub.models import Client, db

    with hub_app.app_context():
        client = Client.query.filter_by(firm_id=firm_id, name=client_name).one()
        client.email, client.reg_code, client.address_country = "books@client.example", "10000018", "EE"
        integration = connections.get_or_create_integration(firm_id, vendor)
        connections.set_enabled(integration, True)
        connections.save_credentials(integration, dict(firm_credentials))
        connection = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
        connections.save_credentials(integration, dict(own_credentials), connection=connection)
        db.session.commit()
        client_id = client.id
        db.session.remove()
    return client_id


def _wait_for_export(hub_app, number: str) -> None:
    """Wait (an event: the job's result wakes the wait) for the export run of invoice ``number`` to finish."""
    from hub import jobs
    from hub.models import Invoice, InvoiceExport, SyncRun, db

    with hub_app.app_context():
        invoice = Invoice.query.filter_by(number=number).one()
        export = InvoiceExport.query.filter_by(invoice_id=invoice.id).one()
        run = SyncRun.query.filter_by(kind="export", subject=f"export:{export.id}").order_by(SyncRun.id.desc()).first()
        assert run is not None, f"no export run for {number}"
        run = jobs.wait_for(run, TIMEOUT_MS / 1000)
        assert run.finished, f"the export of {number} is still {run.status}"
        db.session.remove()


def _issue_with_own_mapping(page, hub_app, client_id: int, vendor: str, vendor_name: str, number: str, rate: str,
                            option: str) -> None:
    """On the client's page a draft with three rows of 0.10 at ``rate`` %; on its Integration page the tax rates of
    its own account refreshed and ``rate`` mapped to the option matching ``option``; then Issue → "Confirmed"."""
    from playwright.sync_api import expect

    page.goto(f"/clients/{client_id}")
    page.get_by_label("Number", exact=True).fill(number)
    for n in (1, 2, 3):
        page.get_by_label(f"Line {n} description").fill(f"Receipt copy {n}")
        page.get_by_label(f"Line {n} quantity").fill("1")
        page.get_by_label(f"Line {n} unit price").fill("0,10")
        page.get_by_label(f"Line {n} VAT rate %").fill(rate)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("button", name=f"Issue invoice {number}")).to_be_visible()

    page.goto(f"/clients/{client_id}/integration?vendor={vendor}")
    section = page.locator("#catalog")
    expect(section.get_by_role("heading", name="Products and tax rates of its own account")).to_be_visible()
    section.get_by_role("button", name=re.compile(f"^Refresh tax rates from {vendor_name}$", re.I)).click()
    expect(page.get_by_text(re.compile(rf"Read \d+ from {vendor_name}"))).to_be_visible()
    section = page.locator("#catalog")
    select = section.get_by_label(f"{rate} %", exact=True)
    choice = select.locator("option", has_text=re.compile(option))
    expect(choice).to_have_count(1)
    select.select_option(choice.get_attribute("value"))
    accessible(page)
    shot(page, f"20-own-account-mapping-{vendor}")
    select.locator("xpath=ancestor::form").get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved: VAT {rate} %: not mapped → {vendor_name} ")
    expect(page.locator("#catalog").get_by_label(f"{rate} %", exact=True)).to_have_value(
        choice.get_attribute("value") or "")

    page.goto(f"/clients/{client_id}")
    page.get_by_role("button", name=f"Issue invoice {number}").click()
    _wait_for_export(hub_app, number)  # the client page does not poll: wait for the worker's answer, then look
    page.goto(f"/clients/{client_id}")
    state = page.locator("tr", has_text=number).locator(".export-row", has_text=vendor_name).locator(".export")
    # read back and equal: "Confirmed", not "(totals not verified)" nor "Booked with differences"
    expect(state).to_have_text(re.compile(r"^\s*Confirmed\s*$"), timeout=TIMEOUT_MS)
    shot(page, f"21-own-account-confirmed-{vendor}")


def test_own_merit_and_directo_accounts_mapped_issued_and_booked_as_issued(merit_vendor, page, live_hub, hub_app,
                                                                        monkeypatch):
    """Issue 27's journey: a client with its own Merit company (Finland) and a client with its own Directo database
    map their VAT rates on their own Integration pages, issue rounding-sensitive invoices (3 × 0.10), the worker
    exports them ("Confirmed"), and what each sandbox booked equals the hub's totals to the cent."""
    from hub_directo import sandbox as directo
    from hub_merit import sandbox as merit

    from hub.models import Invoice, InvoiceExport

    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", TIMEOUT_MS / 1000)  # a refresh waits for the worker
    firm_id = live_hub["firm_id"]
    own_merit, own_directo = merit.DEMO_CLIENT_CREDENTIALS[1], directo.DEMO_CLIENT_CREDENTIALS[0]
    assert own_merit["country"] == "FI"
    merit_client = _own_account(hub_app, firm_id, "Client 1", "merit", merit.DEMO_CREDENTIALS, own_merit)
    directo_client = _own_account(hub_app, firm_id, "Client 2", "directo", directo.DEMO_CREDENTIALS, own_directo)

    sign_in(page, "owner@test.example", "owner-pass")
    _issue_with_own_mapping(page, hub_app, merit_client, "merit", "Merit Aktiva", "J-2701", "25.5", r"^\s*25,5% ·")
    _issue_with_own_mapping(page, hub_app, directo_client, "directo", "Directo", "J-2702", "24",
                            r"^(?!automatic).*\(24 %\)")  # the code itself, not the automatic choice

    with hub_app.app_context():
        booked = {}
        for number in ("J-2701", "J-2702"):
            invoice = Invoice.query.filter_by(firm_id=firm_id, number=number).one()
            export = InvoiceExport.query.filter_by(invoice_id=invoice.id).one()
            assert export.status == "confirmed" and export.account == "client", export.last_error
            booked[number] = ((invoice.total_net, invoice.total_vat, invoice.total), export.vendor_invoice_id,
                              export.vendor_number)
    # rounding-sensitive: Merit rounds VAT per row (3 × 0.03), Directo once per VAT code (0.30 × 24 % = 0.07)
    assert booked["J-2701"][0] == (Decimal("0.30"), Decimal("0.09"), Decimal("0.39")), booked
    assert booked["J-2702"][0] == (Decimal("0.30"), Decimal("0.07"), Decimal("0.37")), booked
    hub_totals, merit_id, _ = booked["J-2701"]
    company = merit_vendor.extensions["sandbox"].companies[own_merit["api_id"]]
    [m] = [i for i in company.invoices if i["SIHId"] == merit_id]
    assert (m["TotalAmount"], m["TaxAmount"], m["TotalSum"]) == hub_totals, (m, hub_totals)
    hub_totals, _, directo_number = booked["J-2702"]
    database = live_hub["sandboxes"]["directo"].extensions["sandbox"].data[own_directo["database"]]
    d = database.invoice(directo_number)
    assert tuple(Decimal(d[k]) for k in ("sum", "vat", "total")) == hub_totals, (d, hub_totals)
    assert all(row["vatcode"] == "1" for row in d["rows"]), d["rows"]  # the mapped code, not Directo's default
