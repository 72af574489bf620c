// Investigating as admins do: forgiving filters shown as chips, one event per activity seen via
// every path, sign-in facts and cmdlet parameters in the panel, and Ask saying what it read.
const { test, expect, api, demoWindow, windowQuery } = require("./fixtures");

test.describe("investigation", () => {
  let win;
  test.beforeAll(async ({ request }) => {
    win = await demoWindow(request);
  });

  test("part of a UPN, in another case, finds the person's events", async ({ page, request }) => {
    const failed = await api(request, `/api/events?${windowQuery(win)}&operation=UserLoginFailed&page_size=1`);
    const upn = failed.items[0].actor.upn;
    const part = upn.split("@")[0].toUpperCase();
    const all = await api(request, `/api/events/aggregations?${windowQuery(win)}&actor=${encodeURIComponent(upn)}`);
    expect(all.total).toBeGreaterThan(0);

    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-actor]", part);
    await page.click("[data-test=apply]");
    await expect(page.locator("[data-test=total]")).toContainText(`${all.total.toLocaleString("en-US")} events`);
    const actors = await page.locator("table.events tbody tr td:nth-child(4)").allInnerTexts();
    expect(actors.length).toBeGreaterThan(0);
    for (const actor of actors) expect(actor.toLowerCase()).toContain(part.toLowerCase());
    // The filter is a chip.
    await expect(page.locator('[data-test=active-filters] [data-filter="actor"]')).toContainText(part);
  });

  test("a filter that arrives in the URL is a chip, and removing it widens the results", async ({ page, request }) => {
    const [event] = (await api(request, `/api/events?${windowQuery(win)}&operation=${encodeURIComponent('"Add member to role"')}&page_size=1`)).items;
    test.skip(!event, "no role assignment in this window");
    const target = event.targets[0].name || event.targets[0].id;
    const narrowed = await api(request, `/api/events/aggregations?${windowQuery(win)}&target=${encodeURIComponent(target)}`);
    const all = await api(request, `/api/events/aggregations?${windowQuery(win)}`);
    await page.goto(`/events?${windowQuery(win)}&target=${encodeURIComponent(target)}`);
    const chip = page.locator('[data-test=active-filters] [data-filter="target"]');
    await expect(chip).toContainText(target);
    await expect(page.locator("[data-test=f-target]")).toHaveValue(target);
    await expect(page.locator("[data-test=total]")).toContainText(`${narrowed.total.toLocaleString("en-US")} events`);
    await chip.locator("button").click();
    await expect(chip).toBeHidden();
    await expect(page).not.toHaveURL(/[?&]target=/);
    await expect(page.locator("[data-test=total]")).toContainText(`${all.total.toLocaleString("en-US")} events`);
  });

  test("a sign-in delivered by Graph and by the unified log is one row, seen via both", async ({ page, request }) => {
    const list = await api(request, `/api/events?${windowQuery(win)}&operation=UserLog*&page_size=200`);
    const twin = list.items.find((e) => (e.also_seen_via || []).length > 0);
    expect(twin, "the demo writes most sign-ins to both paths").toBeTruthy();
    expect(twin.raw).toBeNull();
    await page.goto(`/events?${windowQuery(win)}&event=${twin.id}`);
    const seen = page.locator("[data-test=seen-via]");
    await expect(seen).toContainText(twin.source);
    await expect(seen).toContainText(twin.also_seen_via[0].source);
    // Counted once: the unified log's source finds it too, and no second row has its key time.
    const bySource = await api(request, `/api/events?${windowQuery(win)}&source=${encodeURIComponent(twin.also_seen_via[0].source)}&operation=UserLog*&page_size=200`);
    expect(bySource.items.map((e) => e.id)).toContain(twin.id);
  });

  test("a sign-in's risk, Conditional Access result and error code are shown", async ({ page, request }) => {
    const list = await api(request, `/api/events?${windowQuery(win)}&operation=UserLog*&page_size=500`);
    const risky = list.items.find((e) => ["high", "medium"].includes(e.details.riskLevelDuringSignIn));
    const blocked = list.items.find((e) => e.details.errorCode === "53003" || e.details.conditionalAccessStatus === "failure");
    test.skip(!risky || !blocked, "no risky or blocked sign-in in this window");
    await page.goto(`/events?${windowQuery(win)}&event=${risky.id}`);
    const facts = page.locator("[data-test=sign-in-facts]");
    await expect(facts).toBeVisible();
    await expect(facts).toContainText("Risk");
    await expect(facts).toContainText(risky.details.riskLevelDuringSignIn);
    await expect(facts).toContainText("Application");

    await page.goto(`/events?${windowQuery(win)}&event=${blocked.id}`);
    await expect(facts).toContainText("Conditional Access");
    await expect(facts).toContainText(blocked.details.conditionalAccessStatus || "53003");
    if (blocked.details.errorMeaning) await expect(facts).toContainText(blocked.details.errorMeaning);
  });

  test("Set-Mailbox forwarding is shown in What changed", async ({ page, request }) => {
    const list = await api(request, `/api/events?${windowQuery(win)}&operation=${encodeURIComponent('"Set-Mailbox"')}&page_size=200`);
    const forwarding = list.items.find((e) => Object.keys(e.changes).some((k) => k.startsWith("Forwarding")));
    test.skip(!forwarding, "no mailbox forwarding in this window");
    await page.goto(`/events?${windowQuery(win)}&event=${forwarding.id}`);
    const changes = page.locator("[data-test=changes]");
    await expect(changes).toBeVisible();
    const name = Object.keys(forwarding.changes).find((k) => k.startsWith("Forwarding"));
    await expect(changes).toContainText(name);
    await expect(changes).toContainText(forwarding.changes[name].new);
  });

  test("a facet click includes a value and another leaves one out", async ({ page, request }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    const facets = await api(request, `/api/events/facets?${windowQuery(win)}&top=5`);
    const [top] = facets.facets.operation;
    const include = page.locator('[data-facet="operation"] [data-test=facet-include]').first();
    await expect(include).toContainText(top.value);
    await include.click();
    await expect(page).toHaveURL(new RegExp(`operation=${encodeURIComponent(`"${top.value}"`).replace(/[()]/g, "\\$&")}`));
    await expect(page.locator("[data-test=total]")).toContainText(`${top.count.toLocaleString("en-US")} events`);
    const operations = await page.locator("table.events tbody tr td:nth-child(3)").allInnerTexts();
    expect(new Set(operations)).toEqual(new Set([top.value]));

    // Back to everything, then leave the failures out.
    await page.goto(`/events?${windowQuery(win)}`);
    const all = await api(request, `/api/events/aggregations?${windowQuery(win)}`);
    const failures = facets.facets.result.find((v) => v.value === "failure");
    test.skip(!failures, "no failure in this window");
    await page.locator('[data-facet="result"] li', { hasText: "failure" }).locator("[data-test=facet-exclude]").click();
    await expect(page).toHaveURL(/not_result=failure/);
    await expect(page.locator('[data-test=active-filters] [data-filter="not_result"]')).toContainText("failure");
    await expect(page.locator("[data-test=total]")).toContainText(`${(all.total - failures.count).toLocaleString("en-US")} events`);
    const results = await page.locator("table.events tbody tr td[data-test=result]").allInnerTexts();
    expect(results).not.toContain("failure");
  });

  test("from an event, a pivot to everything by its actor", async ({ page, request }) => {
    const [event] = (await api(request, `/api/events?${windowQuery(win)}&operation=UserLoginFailed&page_size=1`)).items;
    await page.goto(`/events?${windowQuery(win)}&event=${event.id}`);
    await page.click("[data-test=pivot-actor]");
    await expect(page).toHaveURL(/actor=%22/);
    await expect(page.locator('[data-test=active-filters] [data-filter="actor"]')).toContainText(event.actor.upn);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    const actors = await page.locator("table.events tbody tr td:nth-child(4)").allInnerTexts();
    expect(new Set(actors)).toEqual(new Set([event.actor.upn]));
    // And the events around it: ±5 minutes.
    await page.goto(`/events?${windowQuery(win)}&event=${event.id}`);
    await page.click("[data-test=pivot-around]");
    await expect(page).toHaveURL(/from=.*to=/);
    await expect(page.locator(`table.events tbody tr[data-event-id="${event.id}"]`)).toBeVisible();
  });

  test("presets for the last 15 minutes, today and yesterday; oldest first; more rows a page", async ({ page, request }) => {
    await page.goto("/events");
    await page.selectOption("[data-test=f-range]", "today");
    await expect(page).toHaveURL(/range=today/);
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const today = await api(request, `/api/events/aggregations?from=${midnight.toISOString()}&to=${new Date(Date.now() + 1000).toISOString()}`);
    await expect.poll(async () => Number((await page.locator("[data-test=total]").innerText()).split(" ")[0].replace(/,/g, ""))).toBeGreaterThanOrEqual(Math.min(today.total, 1));
    await page.selectOption("[data-test=f-range]", "yesterday");
    await expect(page).toHaveURL(/range=yesterday/);
    await page.reload();
    await expect(page.locator("[data-test=f-range]")).toHaveValue("yesterday");

    await page.goto(`/events?${windowQuery(win)}`);
    await page.selectOption("[data-test=f-order]", "oldest");
    await page.selectOption("[data-test=f-page-size]", "100");
    await page.click("[data-test=apply]");
    await expect(page).toHaveURL(/order=oldest/);
    await expect(page).toHaveURL(/page_size=100/);
    const expected = (await api(request, `/api/events?${windowQuery(win)}&order=oldest&page_size=100`)).items.map((e) => e.id);
    await expect.poll(() => page.locator("table.events tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.eventId))).toEqual(expected);
  });

  test("keyboard: ? shows the keys, rows take Tab and Enter, j past the last row opens the next page", async ({ page }) => {
    await page.goto(`/events?${windowQuery(win)}&page_size=25`);
    await expect(page.locator("table.events tbody tr")).toHaveCount(25);
    await page.keyboard.press("?");
    await expect(page.locator("[data-test=keyboard-help]")).toBeVisible();
    await page.keyboard.press("?");
    await expect(page.locator("[data-test=keyboard-help]")).toBeHidden();
    const first = page.locator("table.events tbody tr").first();
    await first.focus();
    await page.keyboard.press("Enter");
    await expect(page.locator("[data-test=detail]")).toBeVisible();
    await page.keyboard.press("Escape");
    for (let i = 0; i < 25; i++) await page.keyboard.press("j");
    await expect(page.locator("[data-test=page]")).toHaveText("Page 2");
  });

  test("a value field suggests values from the data, with counts, as you type", async ({ page, request }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-operation]", "inbox");
    const options = page.locator("#suggest-operation option");
    await expect.poll(() => options.count()).toBeGreaterThan(0);
    const values = await options.evaluateAll((list) => list.map((o) => [o.value, o.textContent]));
    const facets = await api(request, `/api/events/facets?${windowQuery(win)}&fields=operation&top=8&operation=inbox`);
    expect(values.map(([v]) => v)).toEqual(facets.facets.operation.map((v) => v.value));
    for (const [value, text] of values) {
      expect(value.toLowerCase()).toContain("inbox");
      expect(text).toMatch(/\(\d[\d,]*\)$/);
    }
    // The target field suggests targets that match what is typed; picked, one counts as listed.
    await page.fill("[data-test=f-target]", "admin");
    const targets = page.locator("#suggest-target option");
    await expect.poll(() => targets.count()).toBeGreaterThan(0);
    const [first] = await targets.evaluateAll((list) => list.map((o) => [o.value, o.textContent]));
    expect(first[0]).toContain("admin");
    const listed = Number(first[1].match(/\(([\d,]+)\)$/)[1].replace(/,/g, ""));
    const chosen = await api(request, `/api/events/aggregations?${windowQuery(win)}&target=${encodeURIComponent(`"${first[0]}"`)}`);
    expect(chosen.total).toBe(listed);
    await page.fill("[data-test=f-target]", "");
    // An address field suggests the addresses that start with what is typed.
    await page.fill("[data-test=f-ip]", "198.51");
    const addresses = page.locator("#suggest-ip option");
    await expect.poll(() => addresses.count()).toBeGreaterThan(0);
    for (const value of await addresses.evaluateAll((list) => list.map((o) => o.value))) {
      expect(value.startsWith("198.51")).toBe(true);
    }
  });

  test("a saved search is reopened after a reload, its range still relative", async ({ page, request }) => {
    const name = `Failures today ${Date.now()}`;
    await page.goto("/events?range=today&result=failure");
    await page.click("[data-test=save-search]");
    await page.fill("[data-test=save-name]", name);
    await page.check("[data-test=save-shared]");
    await page.click("[data-test=save-confirm]");
    await expect(page.locator("[data-test=save-form]")).toBeHidden();
    const saved = (await api(request, "/api/saved-searches")).find((s) => s.name === name);
    expect(saved.query).toContain("range=today");
    expect(saved.shared).toBe(true);

    await page.goto("/events");
    await page.reload();
    await page.selectOption("[data-test=saved-searches]", { label: `${name} (shared by ${saved.owner.name || saved.owner.id})` });
    await expect(page).toHaveURL(/range=today/);
    await expect(page).toHaveURL(/result=failure/);
    await expect(page.locator('[data-test=active-filters] [data-filter="result"]')).toContainText("failure");
    await expect(page.locator("[data-test=f-range]")).toHaveValue("today");
    await page.click("[data-test=delete-saved]");
    await expect.poll(async () => (await api(request, "/api/saved-searches")).some((s) => s.name === name)).toBe(false);
  });

  test("after a zoom the range is named, and the chart's legend shows no dashes", async ({ page }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    const over = page.locator("[data-test=chart] .u-over");
    await expect(over).toBeVisible();
    const values = page.locator("[data-test=chart] .u-legend .u-value");
    for (const text of await values.allInnerTexts()) expect(text).not.toContain("--");
    const box = await over.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await expect(page).toHaveURL(/from=.*&to=/);
    await expect(page.locator("[data-test=f-range]")).toHaveValue("custom");
    await expect(page.locator("[data-test=window]")).toContainText("–");
    await expect(page.locator("[data-test=window]")).not.toHaveText("");
  });

  test("the time column names its zone; compact rows are remembered; live searches again", async ({ page }) => {
    await page.goto("/events");
    await expect(page.locator("[data-test=time-header]")).toHaveText(/^Time \(UTC([+−]\d\d:\d\d)?\)$/);
    await page.check("[data-test=compact]");
    await expect(page.locator("table.events")).toHaveClass(/compact/);
    await page.reload();
    await expect(page.locator("[data-test=compact]")).toBeChecked();
    await expect(page.locator("table.events")).toHaveClass(/compact/);
    await page.uncheck("[data-test=compact]");
    // Live: another search of the same preset within its period, without a click.
    await page.check("[data-test=live]");
    const again = await page.waitForRequest((r) => r.url().includes("/api/events?") && r.method() === "GET", { timeout: 20_000 });
    expect(again.url()).toContain("from=");
    await page.uncheck("[data-test=live]");
  });

  test("Ask declines a question that is not about the audit data", async ({ page }) => {
    await page.goto("/ask");
    await page.fill("[data-test=question]", "what is the weather");
    await page.click("[data-test=ask]");
    const answer = page.locator("[data-test=answer]");
    await expect(answer).toContainText("audit events");
    await expect(page.locator("[data-test=answer-events]")).toBeHidden();
  });
});
