// Export buttons: the file holds exactly the rows the API counts for the same filters.
const fs = require("node:fs");
const { test, expect, api, demoWindow, windowQuery } = require("./fixtures");

/** Records in a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
function csvRecords(text) {
  const records = [];
  let field = "";
  let record = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { record.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field); records.push(record); record = []; field = "";
    } else field += c;
  }
  if (field !== "" || record.length > 0) { record.push(field); records.push(record); }
  return records;
}

test.describe("export", () => {
  let win;
  test.beforeAll(async ({ request }) => {
    win = await demoWindow(request);
  });

  test("the CSV export has as many rows as the API counts", async ({ page, request }) => {
    await page.goto(`/events?${windowQuery(win)}&result=success`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    const { total } = await api(request, `/api/events/aggregations?${windowQuery(win)}&result=success`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-test=export-csv]")]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const text = fs.readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
    const records = csvRecords(text);
    expect(records[0]).toContain("operation");
    const rows = records.slice(1);
    expect(rows.length).toBe(total);
    const result = records[0].indexOf("result");
    expect(new Set(rows.map((r) => r[result]))).toEqual(new Set(["success"]));
  });

  test("the JSON export has as many rows as the API counts", async ({ page, request }) => {
    await page.goto(`/events?${windowQuery(win)}`);
    await expect(page.locator("table.events tbody tr").first()).toBeVisible();
    const { total } = await api(request, `/api/events/aggregations?${windowQuery(win)}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-test=export-json]")]);
    const body = JSON.parse(fs.readFileSync(await download.path(), "utf8"));
    const items = Array.isArray(body) ? body : body.items;
    expect(items.length).toBe(total);
  });
});
