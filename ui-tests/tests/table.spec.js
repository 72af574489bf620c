// The events table as the viewer arranges it: chosen columns and relative times (both kept by
// the browser), and the event panel beside the columns rather than over them.
const { test, expect } = require("./fixtures");

test.describe("the events table", () => {
  test.afterEach(async ({ page }) => {
    await page.evaluate(() => { localStorage.removeItem("aoc.columns"); localStorage.removeItem("aoc.relative-times"); });
  });

  test("columns can be hidden and added, and the choice survives a reload", async ({ page }) => {
    await page.goto("/events");
    const header = (name) => page.locator("table.events thead th", { hasText: new RegExp(`^${name}$`) });
    await expect(header("Operation")).toBeVisible();
    await expect(header("Application")).toBeHidden();
    await page.click("[data-test=columns] summary");
    await page.uncheck('[data-column="operation"]');
    await page.check('[data-column="application"]');
    await expect(header("Operation")).toBeHidden();
    await expect(header("Application")).toBeVisible();
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    // Some demo rows name their application.
    const apps = await page.locator("table.events tbody td[data-test=application]").allInnerTexts();
    expect(apps.some((a) => a.trim().length > 0)).toBe(true);
    await page.reload();
    await expect(header("Operation")).toBeHidden();
    await expect(header("Application")).toBeVisible();
  });

  test("relative times say how long ago, with the exact time on hover", async ({ page }) => {
    await page.goto("/events");
    await page.click("[data-test=columns] summary");
    await page.check("[data-test=relative-times]");
    await expect(page.locator("[data-test=time-header]")).toHaveText("Time (ago)");
    const first = page.locator("table.events tbody td[data-test=time]").first();
    await expect(first).toHaveText(/just now|min ago|h .*ago|d ago/);
    await expect(first).toHaveAttribute("title", /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    await page.reload();
    await expect(page.locator("[data-test=time-header]")).toHaveText("Time (ago)");
  });

  test("on a wide screen the open panel leaves every column in view", async ({ page }) => {
    await page.setViewportSize({ width: 1600, height: 900 });
    await page.goto("/events");
    await page.locator("table.events tbody tr").first().click();
    const panel = page.locator("[data-test=detail]");
    await expect(panel).toBeVisible();
    const panelBox = await panel.boundingBox();
    const lastHeader = await page.locator("table.events thead th").last().boundingBox();
    expect(lastHeader.x + lastHeader.width).toBeLessThanOrEqual(panelBox.x + 1);
  });
});
