// The screenshots in docs/screenshots, taken from the demo: `npm run screenshots` (or
// `scripts/screenshots`). Skipped by the normal test run.
const path = require("node:path");
const { test, expect, demoWindow, windowQuery } = require("./fixtures");

const out = path.join(__dirname, "..", "..", "docs", "screenshots");
const sizes = { desktop: { width: 1280, height: 720 }, phone: { width: 390, height: 844 } };

test.skip(!process.env.AOC_SCREENSHOTS, "set AOC_SCREENSHOTS=1 to take the screenshots");

for (const [name, viewport] of Object.entries(sizes)) {
  test(`screenshots at ${name} width`, async ({ page, request }) => {
    const win = await demoWindow(request);
    await page.setViewportSize(viewport);
    await page.goto(`/events?hours=24`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    await expect(page.locator("[data-test=chart] canvas")).toBeVisible();
    await page.screenshot({ path: path.join(out, `events-${name}.png`) });

    const q = `${windowQuery(win)}&operation=${encodeURIComponent("Add member to role.")}`;
    await page.goto(`/events?${q}`);
    await page.locator("table.events tbody tr").first().click();
    await expect(page.locator("[data-test=changes]")).toBeVisible();
    await page.screenshot({ path: path.join(out, `detail-${name}.png`) });

    await page.goto("/sources");
    await expect(page.locator("[data-test=sources-page] tbody tr").first()).toBeVisible();
    await page.screenshot({ path: path.join(out, `sources-${name}.png`) });

    await page.goto("/ask");
    await page.fill("[data-test=question]", "Who had failed sign-ins in the last 24 hours?");
    await page.click("[data-test=ask]");
    await expect(page.locator("[data-test=answer]")).toBeVisible();
    await page.screenshot({ path: path.join(out, `ask-${name}.png`) });

    await page.goto("/events?hours=24");
    await page.click("[data-test=theme-toggle]");
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    await page.screenshot({ path: path.join(out, `events-${name}-dark.png`) });
    await page.click("[data-test=theme-toggle]");
  });
}
