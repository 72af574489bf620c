// The smaller fixes of the investigation work, as a user meets them: a city shown in a sign-in's
// panel is found by the search, a bad tag is called a value (not a filter), the Source filter is
// a chip, and the dashboard's files and answers travel compressed, versioned files cached for good.
const { test, expect, api, demoWindow, windowQuery } = require("./fixtures");

test.describe("fixes", () => {
  let win;
  test.beforeAll(async ({ request }) => {
    win = await demoWindow(request);
  });

  test("a city the panel shows is found by the search box", async ({ page, request }) => {
    const list = await api(request, `/api/events?${windowQuery(win)}&operation=UserLog*&page_size=200`);
    const located = list.items.find((e) => e.location && e.location.city);
    test.skip(!located, "no sign-in with a city in this window");
    const city = located.location.city;
    const want = await api(request, `/api/events/aggregations?${windowQuery(win)}&q=${encodeURIComponent(city)}`);
    expect(want.total).toBeGreaterThan(0);
    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-q]", city.toLowerCase());
    await page.press("[data-test=f-q]", "Enter");
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
    await page.locator("table.events tbody tr").first().click();
    await expect(page.locator("[data-test=detail]")).toContainText(city);
  });

  test("a tag that cannot be one is called a value, not a filter", async ({ page, request }) => {
    const [event] = (await api(request, `/api/events?${windowQuery(win)}&page_size=1`)).items;
    await page.goto(`/events?${windowQuery(win)}&event=${event.id}`);
    await page.fill("[data-test=new-tag]", "Not A Tag!");
    await page.click("[data-test=add-tag]");
    const error = page.locator("[data-test=error]");
    await expect(error).toContainText("That value is not valid.");
    await expect(error).not.toContainText("filter");
  });

  test("the Source filter is a chip, and counts as the API does", async ({ page, request }) => {
    const want = await api(request, `/api/events/aggregations?${windowQuery(win)}&source=sign_ins`);
    expect(want.total).toBeGreaterThan(0);
    await page.goto(`/events?${windowQuery(win)}`);
    await page.fill("[data-test=f-source]", "sign_ins");
    await page.click("[data-test=apply]");
    await expect(page.locator('[data-test=active-filters] [data-filter="source"]')).toContainText("sign_ins");
    await expect(page.locator("[data-test=total]")).toContainText(`${want.total.toLocaleString("en-US")} event`);
  });

  test("answers and files travel compressed; versioned files are cached for good", async ({ page, request }) => {
    const answer = await request.get(`/api/events?${windowQuery(win)}&page_size=50`, { headers: { "Accept-Encoding": "br, gzip" } });
    expect(answer.ok()).toBe(true);
    expect(answer.headers()["content-encoding"]).toBe("br");
    await page.goto("/events");
    const script = await page.locator("script[src*='/v/']").first().getAttribute("src");
    expect(script).toBeTruthy();
    const file = await request.get(script, { headers: { "Accept-Encoding": "gzip" } });
    expect(file.headers()["cache-control"]).toContain("immutable");
    expect(file.headers()["content-encoding"]).toBe("gzip");
  });
});
