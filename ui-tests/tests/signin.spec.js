// With sign-in on: the dashboard asks for a Microsoft sign-in, and the button starts an
// authorization-code-with-PKCE request for AOC's API. Entra ID is stood in for by routing the
// browser's requests to login.microsoftonline.com; nothing leaves the machine.
const { test: base, expect } = require("@playwright/test");

const config = require("../playwright.config.js");
const { signInPort, tenant, clientId } = config.metadata;
const origin = `http://127.0.0.1:${signInPort}`;
const test = base.extend({});

function openIdConfiguration() {
  const base = `https://login.microsoftonline.com/${tenant}`;
  return {
    issuer: `${base}/v2.0`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
  };
}

test("sign-in on: the sign-in page, and a PKCE authorization request for AOC", async ({ page }) => {
  const authorize = [];
  await page.route("https://login.microsoftonline.com/**", async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.endsWith("/oauth2/v2.0/authorize")) {
      authorize.push(url);
      return route.fulfill({ status: 200, contentType: "text/html", body: "<p>Entra ID sign-in stand-in</p>" });
    }
    return route.fulfill({
      status: 200,
      contentType: "application/json",
      headers: { "access-control-allow-origin": "*" },
      body: JSON.stringify(openIdConfiguration()),
    });
  });
  const unrouted = [];
  page.on("request", (r) => {
    const host = new URL(r.url()).host;
    if (host !== `127.0.0.1:${signInPort}` && host !== "login.microsoftonline.com") unrouted.push(r.url());
  });

  await page.goto(`${origin}/events`);
  await expect(page.locator("[data-test=signin-page]")).toBeVisible();
  await expect(page.locator("[data-test=local-mode]")).toBeHidden();
  await expect(page.locator("[data-test=events-page]")).toBeHidden();
  // The data itself stays closed.
  const events = await page.request.get(`${origin}/api/events`);
  expect(events.status()).toBe(401);

  await page.click("[data-test=sign-in]");
  await expect.poll(() => authorize.length).toBe(1);
  const params = authorize[0].searchParams;
  expect(authorize[0].pathname).toBe(`/${tenant}/oauth2/v2.0/authorize`);
  expect(params.get("client_id")).toBe(clientId);
  expect(params.get("response_type")).toBe("code");
  expect(params.get("code_challenge_method")).toBe("S256");
  expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(params.get("redirect_uri")).toBe(`${origin}/auth/redirect.html`);
  expect(params.get("scope").split(" ")).toContain("api://aoc-ui-test/.default");
  expect(unrouted).toEqual([]);
});

test("the sign-in return page loads its bridge under the same policy", async ({ page }) => {
  const response = await page.goto(`${origin}/auth/redirect.html`);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-security-policy"]).toContain("connect-src 'self' https://login.microsoftonline.com");
});
