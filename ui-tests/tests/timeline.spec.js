// A person's timeline, reached from an event: their events day by day from the latest back,
// counted as the API counts them, with where they signed in from.
const { test, expect, api } = require("./fixtures");

test("an event's actor opens their timeline, day by day, counted as the API counts", async ({ page, request }) => {
  const [signIn] = (await api(request, "/api/events?hours=168&operation=UserLoggedIn&page_size=1")).items;
  expect(signIn, "the demo has sign-ins").toBeTruthy();
  const upn = signIn.actor.upn;
  const totals = await api(request, `/api/events/aggregations?hours=720&actor=${encodeURIComponent(`"${upn}"`)}`);
  await page.goto(`/events?hours=168&event=${signIn.id}`);
  await page.click("[data-test=pivot-timeline]");
  await expect(page).toHaveURL(/\/timeline\?actor=/);
  await expect(page.locator("[data-test=timeline-person]")).toHaveText(upn);
  await expect(page.locator("[data-test=timeline-totals]")).toContainText(`${totals.total.toLocaleString()} events`);
  await expect(page.locator('[data-test=timeline-facts] [data-fact="country"]')).toBeVisible();
  const days = page.locator("[data-test=timeline-day]");
  await expect(days.first()).toBeVisible();
  // The latest day first: day keys descend.
  const keys = await days.evaluateAll((els) => els.map((e) => e.dataset.day));
  expect([...keys].sort().reverse()).toEqual(keys);
  // A row opens in the panel; the navigation does not list the page.
  await days.first().locator("tbody tr").first().click();
  await expect(page.locator("[data-test=detail]")).toBeVisible();
  await expect(page.locator('nav [data-page="timeline"]')).toHaveCount(0);
  // The same events on the Events page.
  await page.keyboard.press("Escape");
  await page.click("[data-test=timeline-search]");
  await expect(page).toHaveURL(/\/events\?actor=/);
  await expect(page.locator("[data-test=total]")).toContainText(`${totals.total.toLocaleString("en-US")} event`);
});
