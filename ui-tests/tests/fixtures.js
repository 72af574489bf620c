// Shared by every spec: the page may talk to AOC only, and must not log a script error.
const { test: base, expect } = require("@playwright/test");

const test = base.extend({
  page: async ({ page, baseURL }, use) => {
    const own = new URL(baseURL).origin;
    const foreign = [];
    const problems = [];
    page.on("request", (request) => {
      const url = request.url();
      if (url.startsWith("data:") || url.startsWith("blob:")) return;
      if (new URL(url).origin !== own) foreign.push(url);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      const text = message.text();
      // Alpine reports a template expression it cannot evaluate as a warning.
      if (message.type() === "error" && !/status of 4\d\d/.test(text)) problems.push(`console error: ${text}`);
      if (/Alpine Expression Error|Alpine Warning/.test(text)) problems.push(`alpine: ${text}`);
    });
    await use(page);
    expect(foreign, "requests to other hosts").toEqual([]);
    expect(problems, "script errors").toEqual([]);
  },
});

/** GET an API route as JSON, failing on anything but 200. */
async function api(request, path) {
  const response = await request.get(path);
  expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
  return response.json();
}

/** Waits until the demo has collected at least `count` events; returns a fixed window that
 * holds them, so later checks compare like with like while new events arrive. */
async function demoWindow(request, count = 160) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const to = new Date(Date.now() + 1000).toISOString();
    const from = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
    const totals = await api(request, `/api/events/aggregations?from=${from}&to=${to}`);
    if (totals.total >= count) return { from, to, total: totals.total };
    if (Date.now() > deadline) throw new Error(`the demo has only ${totals.total} events`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The ids of the rows the events table shows, top to bottom. */
async function rowIds(page) {
  return page.locator("table.events tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.eventId));
}

function windowQuery(w) {
  return `from=${encodeURIComponent(w.from)}&to=${encodeURIComponent(w.to)}`;
}

module.exports = { test, expect, api, demoWindow, rowIds, windowQuery };
