// With sign-in on: the dashboard signs people in with Microsoft (MSAL, authorization code with
// PKCE), calls the API with the access token, shows who is signed in, hides what their role
// cannot do, and signs them out. Entra ID is tests/fake-entra.js: AOC fetches its signing keys
// over HTTP, and the browser reaches it at login.microsoftonline.com through routing, so
// nothing leaves the machine.
const { test, expect } = require("@playwright/test");

const config = require("../playwright.config.js");
const { signInPort, entraPort, tenant, clientId } = config.metadata;
const origin = `http://127.0.0.1:${signInPort}`;
const entra = `http://127.0.0.1:${entraPort}`;
const MICROSOFT = "https://login.microsoftonline.com";

async function signInAs(request, who) {
  const response = await request.post(`${entra}/test/user`, { data: who });
  expect(response.ok()).toBe(true);
}

async function entraLog(request) {
  return (await request.get(`${entra}/test/log`)).json();
}

test.describe("sign-in with Entra ID", () => {
  // MSAL only talks to an https authority: the page is told Entra ID is at Microsoft's host,
  // and the routing below carries those requests to the stand-in. The policy would refuse the
  // rewritten host (it names the configured authority), so it is bypassed here; the policy
  // itself is checked by the last test.
  test.use({ bypassCSP: true });

  test.beforeEach(async ({ page }) => {
    await page.route(`${origin}/api/client-config`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.sign_in.authority = `${MICROSOFT}/${tenant}`;
      await route.fulfill({ response, json: body });
    });
    await page.route(`${MICROSOFT}/**`, async (route) => {
      const request = route.request();
      const response = await route.fetch({
        url: request.url().replace(MICROSOFT, entra),
        headers: { ...request.headers(), "x-browser": "1" },
        maxRedirects: 0,
      });
      await route.fulfill({ response });
    });
  });

  test("a Reader signs in, sees events and no Analyst or Admin controls, and signs out", async ({ page, request }) => {
    await signInAs(request, { name: "Robin Reader", username: "robin.reader@contoso.com", roles: ["AOC.Reader"] });
    const bearer = [];
    page.on("request", async (r) => {
      if (r.url().startsWith(`${origin}/api/`) && !r.url().endsWith("/api/client-config")) {
        bearer.push((await r.allHeaders()).authorization || "none");
      }
    });

    await page.goto(`${origin}/events`);
    await expect(page.locator("[data-test=signin-page]")).toBeVisible();
    await expect(page.locator("[data-test=local-mode]")).toBeHidden();
    expect((await page.request.get(`${origin}/api/events`)).status()).toBe(401);

    await page.click("[data-test=sign-in]");
    await expect(page.locator("[data-test=events-page]")).toBeVisible();
    await expect(page.locator("[data-test=user]")).toContainText("Robin Reader");
    await expect(page.locator("[data-test=user]")).toContainText("Reader");
    await expect(page.locator("[data-test=empty]")).toBeVisible();
    await expect(page.locator("[data-test=error]")).toBeHidden();

    // The request Entra ID saw: authorization code with PKCE, for AOC's API.
    const authorize = (await entraLog(request)).filter((e) => e.kind === "authorize");
    const params = new URL(authorize[authorize.length - 1].url).searchParams;
    expect(params.get("client_id")).toBe(clientId);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("redirect_uri")).toBe(`${origin}/auth/redirect.html`);
    expect(params.get("scope").split(" ")).toContain("api://aoc-ui-test/.default");
    // Every API call carried the access token.
    expect(bearer.length).toBeGreaterThan(0);
    for (const header of bearer) expect(header).toMatch(/^Bearer ey/);

    // A Reader: no export, no audit trail; no Fetch now on the sources page.
    await expect(page.locator("[data-test=export-csv]")).toBeHidden();
    await expect(page.locator("nav [data-page=audit-trail]")).toHaveCount(0);
    await page.click("nav [data-page=sources]");
    await expect(page.locator("[data-test=sources-page]")).toBeVisible();
    await expect(page.locator("[data-test=fetch-now]")).toHaveCount(0);

    // Sign out: through Entra ID's sign-out, back to the sign-in page.
    const before = (await entraLog(request)).length;
    await page.click("[data-test=sign-out]");
    await expect(page.locator("[data-test=signin-page]")).toBeVisible();
    const logout = (await entraLog(request)).slice(before).filter((e) => e.kind === "logout");
    expect(logout.length).toBe(1);
    expect(new URL(logout[0].url).searchParams.get("post_logout_redirect_uri")).toBe(`${origin}/`);
  });

  test("an Admin sees every control", async ({ page, request }) => {
    await signInAs(request, { name: "Alex Admin", username: "alex.admin@contoso.com", roles: ["AOC.Admin"] });
    await page.goto(`${origin}/`);
    await page.click("[data-test=sign-in]");
    await expect(page.locator("[data-test=user]")).toContainText("Alex Admin");
    await expect(page.locator("[data-test=export-csv]")).toBeVisible();
    await page.click("nav [data-page=audit-trail]");
    await expect(page.locator("[data-test=audit-page] tbody tr").first()).toBeVisible();
    // The trail names the signed-in user, not a local one.
    await expect(page.locator("[data-test=audit-page]")).toContainText("Alex Admin");
  });
});

test("the pages name the configured authority in their policy, and nothing else", async ({ page }) => {
  const response = await page.goto(`${origin}/auth/redirect.html`);
  expect(response.status()).toBe(200);
  const csp = response.headers()["content-security-policy"];
  expect(csp).toContain(`connect-src 'self' ${entra};`);
  expect(csp).toContain("script-src 'self';");
});
