// The search box's query language: typed filters with OR and NOT counted as the API counts
// them, an error pointing at its character, and the form's filters moved into the box as text.
const { test, expect, api, demoWindow, windowQuery } = require("./fixtures");

test.describe("query language", () => {
  let win;
  test.beforeAll(async ({ request }) => {
    win = await demoWindow(request);
  });

  test("a typed query with OR and NOT finds what the API counts, and survives a reload", async ({ page, request }) => {
    const q = "(service:exchange OR operation:\"Add member to role\") NOT result:success";
    const want = await api(request, `/api/events/aggregations?${windowQuery(win)}&q=${encodeURIComponent(q)}`);
    expect(want.total).toBeGreaterThan(0);

    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-q]", q);
    await page.press("[data-test=f-q]", "Enter");
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
    await expect(page.locator('[data-test=active-filters] [data-filter="q"]')).toContainText("NOT result:success");
    await expect(page).toHaveURL(/[?&]q=/);
    const results = await page.locator("table.events tbody tr td[data-test=result]").allInnerTexts();
    for (const result of results) expect(result.toLowerCase()).not.toContain("success");
    await page.reload();
    await expect(page.locator("[data-test=f-q]")).toHaveValue(q);
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
  });

  test("a mistake is shown under the box with a caret at its character", async ({ page }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-q]", "actor:ravi (service:exchange OR");
    await page.press("[data-test=f-q]", "Enter");
    const error = page.locator("[data-test=query-error]");
    await expect(error).toBeVisible();
    await expect(error).toContainText("OR needs a term on each side");
    const caretLine = (await error.locator("pre").innerText()).split("\n")[1];
    expect(caretLine).toBe(" ".repeat("actor:ravi (service:exchange ".length) + "^");
    await expect(page.locator("[data-test=f-q]")).toHaveAttribute("aria-invalid", "true");
    // Fixed, it is gone.
    await page.fill("[data-test=f-q]", "actor:ravi (service:exchange OR service:sharepoint)");
    await page.press("[data-test=f-q]", "Enter");
    await expect(error).toBeHidden();
  });

  test("the form's filters move into the box as the same query", async ({ page, request }) => {
    const want = await api(request, `/api/events/aggregations?${windowQuery(win)}&service=exchange&not_operation=${encodeURIComponent('"Set-Mailbox"')}`);
    expect(want.total).toBeGreaterThan(0);
    await page.goto(`/events?${windowQuery(win)}&service=exchange&not_operation=${encodeURIComponent('"Set-Mailbox"')}`);
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
    await page.click("[data-test=as-query]");
    await expect(page.locator("[data-test=f-q]")).toHaveValue('service:exchange -operation:"Set-Mailbox"');
    await expect(page.locator("[data-test=f-service]")).toHaveValue("");
    await page.click("[data-test=apply]");
    await expect(page).not.toHaveURL(/[?&]service=/);
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
  });

  test("the syntax is one click away", async ({ page }) => {
    await page.goto("/events");
    await page.click("[data-test=query-help]");
    await expect(page.locator("[data-test=query-syntax]")).toContainText("actor:");
    await expect(page.locator("[data-test=query-syntax]")).toContainText("last:24h");
  });

  test("the application facet narrows to one application, counted as the API counts", async ({ page, request }) => {
    const facets = await api(request, `/api/events/facets?fields=application&top=5&${windowQuery(win)}`);
    const [top] = facets.facets.application;
    expect(top, "the demo's sign-ins name their application").toBeTruthy();
    await page.goto(`/events?${windowQuery(win)}`);
    await page.locator('[data-facet="application"] [data-test=facet-include]').first().click();
    await expect(page.locator('[data-test=active-filters] [data-filter="application"]')).toContainText(top.value);
    await expect(page.locator("[data-test=total]")).toContainText(`${top.count.toLocaleString("en-US")} event`);
    // Typed, the same application finds the same events.
    const typed = await api(request, `/api/events/aggregations?${windowQuery(win)}&q=${encodeURIComponent(`app:"${top.value}"`)}`);
    expect(typed.total).toBe(top.count);
  });
});

test.describe("query language and the range", () => {
  test("a typed time sets the range: the selector stands aside", async ({ page, request }) => {
    const want = await api(request, `/api/events/aggregations?q=${encodeURIComponent("last:30d")}`);
    const week = await api(request, "/api/events/aggregations?hours=168");
    await page.goto("/events");
    await page.fill("[data-test=f-q]", "last:30d");
    await page.press("[data-test=f-q]", "Enter");
    await expect(page.locator("[data-test=f-range]")).toBeDisabled();
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
    expect(want.total).toBeGreaterThanOrEqual(week.total);
    await expect(page).not.toHaveURL(/[?&]hours=/);
  });

  test("Edit as query keeps a part of a name with a space a part", async ({ page, request }) => {
    const want = await api(request, `/api/events/aggregations?hours=168&operation=${encodeURIComponent("member to")}`);
    expect(want.total).toBeGreaterThan(0);
    await page.goto(`/events?hours=168&operation=${encodeURIComponent("member to")}`);
    await page.click("[data-test=as-query]");
    await expect(page.locator("[data-test=f-q]")).toHaveValue('operation:"*member to*"');
    await page.click("[data-test=apply]");
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
  });
});
