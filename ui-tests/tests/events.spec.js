// The events page: loading, filters and the URL, paging, keyboard, errors.
const { test, expect, api, demoWindow, rowIds, windowQuery } = require("./fixtures");

test.describe("events", () => {
  let win;
  test.beforeAll(async ({ request }) => {
    win = await demoWindow(request);
  });

  test("the page loads with events, a chart and the local-mode banner", async ({ page }) => {
    await page.goto("/");
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    await expect(page.locator("[data-test=total]")).toContainText("events");
    await expect(page.locator("[data-test=chart] canvas")).toBeVisible();
    await expect(page.locator("[data-test=local-mode]")).toBeVisible();
    await expect(page.locator("[data-test=user]")).toContainText("Admin");
  });

  test("a filter and a free-text search narrow the table and change the URL", async ({ page, request }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    const all = await api(request, `/api/events/aggregations?${windowQuery(win)}`);
    const service = await page.locator("table.events tbody tr td:nth-child(2)").first().innerText();

    await page.fill("[data-test=f-service]", service);
    await page.click("[data-test=apply]");
    await expect(page).toHaveURL(new RegExp(`service=${encodeURIComponent(service).replace(/%20/g, "(\\+|%20)")}`));
    const byService = await api(request, `/api/events/aggregations?${windowQuery(win)}&service=${encodeURIComponent(service)}`);
    expect(byService.total).toBeLessThan(all.total);
    await expect(page.locator("[data-test=total]")).toContainText(`${byService.total.toLocaleString("en-US")} events`);
    const services = await page.locator("table.events tbody tr td:nth-child(2)").allInnerTexts();
    expect(new Set(services)).toEqual(new Set([service]));

    // Free text, on top of the service.
    const operation = await page.locator("table.events tbody tr td:nth-child(3)").first().innerText();
    await page.fill("[data-test=f-q]", operation);
    await page.press("[data-test=f-q]", "Enter");
    await expect(page).toHaveURL(/[?&]q=/);
    const query = `${windowQuery(win)}&service=${encodeURIComponent(service)}&q=${encodeURIComponent(operation)}&page_size=50`;
    const expected = (await api(request, `/api/events?${query}`)).items.map((e) => e.id);
    await expect.poll(() => rowIds(page)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);

    // Back: the service filter alone again, from the URL.
    await page.goBack();
    await expect(page).not.toHaveURL(/[?&]q=/);
    await expect(page.locator("[data-test=f-q]")).toHaveValue("");
    await expect(page.locator("[data-test=f-service]")).toHaveValue(service);
    await expect(page.locator("[data-test=total]")).toContainText(`${byService.total.toLocaleString("en-US")} events`);
  });

  test("three pages, none repeated or skipped, as the API orders them", async ({ page, request }) => {
    const expected = (await api(request, `/api/events?${windowQuery(win)}&page_size=150`)).items.map((e) => e.id);
    expect(expected.length).toBe(150);
    await page.goto(`/events?${windowQuery(win)}`);
    const pages = [];
    for (let n = 1; n <= 3; n++) {
      await expect(page.locator("[data-test=page]")).toHaveText(`Page ${n}`);
      await expect(page.locator("[data-test=loading]")).toBeHidden();
      await expect.poll(async () => (await rowIds(page)).length).toBe(50);
      pages.push(await rowIds(page));
      if (n < 3) await page.click("[data-test=older]");
    }
    const seen = pages.flat();
    expect(new Set(seen).size).toBe(150);
    expect(seen).toEqual(expected);

    // And back to page 2: the same rows as before.
    await page.click("[data-test=newer]");
    await expect(page.locator("[data-test=page]")).toHaveText("Page 2");
    await expect.poll(() => rowIds(page)).toEqual(pages[1]);
  });

  test("keyboard: / focuses the search, arrows move through rows, Esc closes the panel", async ({ page }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    await page.locator("body").press("/");
    await expect(page.locator("[data-test=f-q]")).toBeFocused();
    await page.locator("[data-test=f-q]").press("Escape");
    await page.locator("[data-test=total]").click();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    const ids = await rowIds(page);
    await expect(page.locator("table.events tbody tr.selected")).toHaveAttribute("data-event-id", ids[1]);
    await expect(page.locator("[data-test=detail]")).toBeVisible();
    await page.keyboard.press("ArrowUp");
    await expect(page.locator("table.events tbody tr.selected")).toHaveAttribute("data-event-id", ids[0]);
    await page.keyboard.press("Escape");
    await expect(page.locator("[data-test=detail]")).toBeHidden();
  });

  test("an API error is shown in plain words with its request id", async ({ page }) => {
    const answer = page.waitForResponse((r) => r.url().includes("/api/events?") && r.status() === 400);
    await page.goto("/events?ip=999.1.2.3");
    const response = await answer;
    const error = page.locator("[data-test=error]");
    await expect(error).toBeVisible();
    await expect(error).toContainText("That filter is not valid.");
    await expect(error).toContainText("IP address (ip)");
    await expect(page.locator("[data-test=request-id]")).toHaveText(response.headers()["x-request-id"]);
    // The table does not claim that nothing matched: the search did not run.
    await expect(page.locator("[data-test=search-failed]")).toBeVisible();
    await expect(page.locator("[data-test=empty]")).toBeHidden();
    // Fixing the filter clears it.
    await page.fill("[data-test=f-ip]", "");
    await page.click("[data-test=apply]");
    await expect(error).toBeHidden();
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
  });

  test("dark theme, kept across a reload; UTC switch", async ({ page }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await expect(page.locator("body")).toHaveClass(/theme-light/);
    await page.click("[data-test=theme-toggle]");
    await expect(page.locator("body")).toHaveClass(/theme-dark/);
    await page.reload();
    await expect(page.locator("body")).toHaveClass(/theme-dark/);
    await page.click("[data-test=utc-toggle]");
    await expect(page.locator("table.events tbody tr td:first-child").first()).toContainText("UTC");
  });

  test("usable at phone width: no sideways scrolling, the panel fills the screen", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`/events?${windowQuery(win)}`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    // Nothing sticks out sideways (the table scrolls inside its own box).
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((el) => el.offsetParent !== null && !el.closest(".table-wrap") && el.getBoundingClientRect().right > window.innerWidth + 1)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`));
    expect(wide).toEqual([]);
    // Only the search shows until the other filters are asked for.
    await expect(page.locator("[data-test=f-q]")).toBeVisible();
    await expect(page.locator("[data-test=f-service]")).toBeHidden();
    await page.click("[data-test=more-filters]");
    await expect(page.locator("[data-test=f-service]")).toBeVisible();
    await page.locator("table.events tbody tr").first().click();
    await expect(page.locator("[data-test=detail]")).toBeVisible();
    const box = await page.locator("[data-test=detail]").boundingBox();
    expect(box.width).toBeGreaterThanOrEqual(389);
  });
});
