// The Ask page, with the AI features on and no model: AOC's parser reads the question and the
// figures come from the database.
const { test, expect, api, demoWindow } = require("./fixtures");

test("a question is answered with the database's figures and cited events that open", async ({ page, request }) => {
  await demoWindow(request);
  await page.goto("/");
  await page.click("nav [data-page=ask]");
  await expect(page).toHaveURL(/\/ask$/);
  await expect(page.locator("[data-test=question]")).toBeFocused();
  await page.fill("[data-test=question]", "How many failed sign-ins in the last 7 days?");
  // Asked in the background: a job, polled until the server's worker has answered.
  const asked = page.waitForRequest((r) => r.url().endsWith("/api/ask") && r.method() === "POST");
  const polled = page.waitForResponse((r) => r.url().includes("/api/jobs/") && r.status() === 200);
  await page.click("[data-test=ask]");
  // The browser's offset from UTC goes along, so "today" and "yesterday" are the viewer's.
  const offset = await page.evaluate(() => 0 - new Date().getTimezoneOffset());
  expect((await asked).postDataJSON()).toEqual({ question: "How many failed sign-ins in the last 7 days?", async: true, utc_offset_minutes: offset });
  await polled;
  const answer = page.locator("[data-test=answer]");
  await expect(answer).toBeVisible();
  await expect(page.locator("[data-test=answer-query]")).toContainText("operation=UserLoginFailed");
  await expect(page.locator("[data-test=answer-query]")).toContainText("hours=168");
  // What the question was read as is listed with the answer.
  await expect(page.locator("[data-test=answer-understood]")).toContainText("time: the last 168 hours");
  await expect(page.locator("[data-test=answer-understood]")).toContainText("show: how many");

  // The figure is the database's for the same query.
  const totals = await api(request, "/api/events/aggregations?hours=168&operation=UserLoginFailed");
  await expect(page.locator("[data-test=answer-total]")).toHaveText(totals.total.toLocaleString("en-US"));

  // A cited event opens in the panel, and it is a failed sign-in.
  const cite = answer.locator("button.cite").first();
  await expect(cite).toBeVisible();
  const id = await cite.getAttribute("data-cite");
  await cite.click();
  await expect(page.locator("[data-test=detail]")).toBeVisible();
  await expect(page.locator("#detail-title")).toHaveText("UserLoginFailed");
  const event = await api(request, `/api/events/${id}`);
  expect(event.operation).toBe("UserLoginFailed");

  // And the answer's events are one click away.
  await page.keyboard.press("Escape");
  await page.click("[data-test=answer-events]");
  await expect(page).toHaveURL(/\/events\?.*operation=UserLoginFailed/);
  await expect(page.locator("table.events tbody tr").first()).toBeVisible();
});

test("an event is explained in the panel", async ({ page, request }) => {
  const { from, to } = await demoWindow(request);
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&operation=UserLoginFailed`;
  await page.goto(`/events?${q}`);
  await page.locator("table.events tbody tr").first().click();
  await expect(page.locator("[data-test=detail]")).toBeVisible();
  await page.click("[data-test=explain]");
  const explanation = page.locator("[data-test=explanation]");
  await expect(explanation).toBeVisible();
  await expect(explanation).toContainText("A sign-in that did not succeed");
  await expect(explanation).toContainText("AOC's notes");
});
