// The sources page and the audit trail.
const { test, expect, api } = require("./fixtures");

test("the sources page shows the simulator's sources and fetches on demand", async ({ page, request }) => {
  // After the demo's first collection run, so statuses hold still while they are compared.
  await expect
    .poll(async () => (await api(request, "/api/sources")).sources.filter((s) => s.status === "running" || s.status === "never_run").length, { timeout: 90_000 })
    .toBe(0);
  const { sources } = await api(request, "/api/sources");
  expect(sources.length).toBeGreaterThan(0);
  await page.goto("/");
  await page.click("nav [data-page=sources]");
  await expect(page).toHaveURL(/\/sources$/);
  for (const s of sources) {
    const row = page.locator(`[data-test=sources-page] tr[data-source="${s.source}"]`).first();
    await expect(row).toBeVisible();
    await expect(row.locator(".status")).toHaveAttribute("data-status", s.status);
  }
  await expect(page.locator("[data-test=sources-page]")).toContainText("graph.directory_audits");

  // The coverage map: a row per source, a cell per hour of the range, and cells for the hours
  // the API has figures for.
  const coverage = await api(request, "/api/sources/coverage");
  const map = page.locator("[data-test=coverage-map]");
  await expect(map.locator("tbody tr")).toHaveCount(sources.length);
  const cells = await map.locator("tbody tr").first().locator(".cell").count();
  expect(cells).toBeGreaterThanOrEqual(24);
  const filled = await map.locator(".cell:not(.c-none)").count();
  const withFigures = new Set(coverage.hours.filter((h) => h.records_fetched > 0 || h.content_fetched > 0 || h.content_listed > 0 || h.content_expired > 0).map((h) => `${h.source}|${h.hour}`)).size;
  expect(filled).toBe(withFigures);

  await page.click("[data-test=fetch-now]");
  await expect(page.locator("[data-test=fetch-result]")).toBeVisible({ timeout: 60_000 });
  await expect(page.locator("[data-test=fetch-result]")).toContainText("Fetched");
});

test("the audit trail lists what was done in AOC", async ({ page }) => {
  await page.goto("/events?q=audit-trail-check");
  await expect(page.locator("[data-test=empty]")).toBeVisible();
  await page.click("nav [data-page=audit-trail]");
  await expect(page).toHaveURL(/\/audit-trail$/);
  await expect(page.locator("[data-test=audit-page] tbody tr").first()).toBeVisible();
  await expect(page.locator("[data-test=audit-page]")).toContainText("events.search");

  // A family of actions, as the placeholder says; the filters go to the URL and come back from it;
  // each search shows what it asked for.
  await page.fill("[data-test=a-action]", "events.*");
  await page.click("[data-test=a-apply]");
  await expect(page).toHaveURL(/\/audit-trail\?action=events\.\*/);
  const actions = await page.locator("[data-test=audit-page] tbody tr td:nth-child(3)").allInnerTexts();
  expect(actions.length).toBeGreaterThan(0);
  for (const action of actions) expect(action.startsWith("events.")).toBe(true);
  await expect(page.locator("[data-test=a-details]", { hasText: "q=audit-trail-check" }).first()).toBeVisible();
  const who = (await page.locator("[data-test=audit-page] tbody tr td:nth-child(2)").first().innerText()).trim();
  await page.reload();
  await expect(page.locator("[data-test=a-action]")).toHaveValue("events.*");
  // The actor by part of their name, in another case.
  await page.fill("[data-test=a-actor]", who.slice(0, 4).toUpperCase());
  await page.click("[data-test=a-apply]");
  await expect(page.locator("[data-test=audit-page] tbody tr").first()).toBeVisible();
  const people = await page.locator("[data-test=audit-page] tbody tr td:nth-child(2)").allInnerTexts();
  for (const person of people) expect(person.toLowerCase()).toContain(who.slice(0, 4).toLowerCase());
});

test("an unknown page says so", async ({ page }) => {
  await page.goto("/no-such-page");
  await expect(page.locator("text=No such page")).toBeVisible();
});
