// A stand-in for Entra ID over plain HTTP on a loopback port, for the sign-in tests: OpenID
// metadata and keys (which AOC fetches to check tokens), and the authorization-code-with-PKCE
// endpoints (which the browser reaches through the tests' routing of login.microsoftonline.com).
// Tokens are signed with a key made at start; the next sign-in's user is set by the test.
//   node fake-entra.js PORT
"use strict";
const crypto = require("node:crypto");
const http = require("node:http");

const port = Number(process.argv[2] || 18433);
const base = `http://127.0.0.1:${port}`;
const MICROSOFT = "https://login.microsoftonline.com";
const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = "aoc-ui-test-key";
const jwk = publicKey.export({ format: "jwk" });

let user = { name: "Robin Reader", username: "robin.reader@contoso.com", oid: "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", roles: ["AOC.Reader"] };
const codes = new Map();
const log = [];

const b64url = (data) => Buffer.from(data).toString("base64url");
function jwt(claims) {
  const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));
  const body = b64url(JSON.stringify(claims));
  const signature = crypto.sign("sha256", Buffer.from(`${head}.${body}`), privateKey);
  return `${head}.${body}.${b64url(signature)}`;
}
const v2Issuer = (tenant) => `${MICROSOFT}/${tenant}/v2.0`;

function send(res, status, body, headers = {}) {
  const json = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json",
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "*",
    ...headers,
  });
  res.end(json);
}

function redirect(res, location) {
  res.writeHead(302, { location });
  res.end();
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function tokens(tenant, clientId, scope, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const common = { iat: now - 60, nbf: now - 60, exp: now + 3600, oid: user.oid, sub: `pairwise-${user.oid}`, tid: tenant, ver: "2.0", name: user.name, preferred_username: user.username };
  return {
    token_type: "Bearer",
    scope,
    expires_in: 3600,
    ext_expires_in: 3600,
    access_token: jwt({ ...common, aud: clientId, iss: v2Issuer(tenant), azp: clientId, scp: "access_as_user", roles: user.roles }),
    id_token: jwt({ ...common, aud: clientId, iss: v2Issuer(tenant), nonce }),
    refresh_token: `refresh-${crypto.randomUUID()}`,
    client_info: b64url(JSON.stringify({ uid: user.oid, utid: tenant })),
  };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  const browser = req.headers["x-browser"] === "1";
  // What the browser is told lives at Microsoft's host; what AOC fetches, here.
  const host = browser ? MICROSOFT : base;
  const parts = url.pathname.split("/").filter(Boolean);
  const tenant = parts[0];
  try {
    if (req.method === "OPTIONS") return send(res, 204, "");
    if (url.pathname === "/health") return send(res, 200, { ok: true });
    if (url.pathname === "/test/user" && req.method === "POST") {
      user = { ...user, ...JSON.parse(await readBody(req)) };
      return send(res, 200, user);
    }
    if (url.pathname === "/test/log") return send(res, 200, log);
    if (url.pathname === "/common/discovery/instance") {
      return send(res, 200, {
        tenant_discovery_endpoint: `${MICROSOFT}/${url.searchParams.get("tenant") || "common"}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: "login.microsoftonline.com", preferred_cache: "login.windows.net", aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"] }],
      });
    }
    const rest = parts.slice(1).join("/");
    if (rest === "v2.0/.well-known/openid-configuration") {
      return send(res, 200, {
        issuer: v2Issuer(tenant),
        authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${host}/${tenant}/oauth2/v2.0/token`,
        end_session_endpoint: `${host}/${tenant}/oauth2/v2.0/logout`,
        jwks_uri: `${host}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        id_token_signing_alg_values_supported: ["RS256"],
        tenant_region_scope: "EU",
        cloud_instance_name: "microsoftonline.com",
      });
    }
    if (rest === ".well-known/openid-configuration") {
      return send(res, 200, { issuer: `https://sts.windows.net/${tenant}/`, jwks_uri: `${host}/${tenant}/discovery/keys`, token_endpoint: `${host}/${tenant}/oauth2/token` });
    }
    if (rest === "discovery/v2.0/keys" || rest === "discovery/keys") {
      const entry = { kty: "RSA", use: "sig", kid, alg: "RS256", n: jwk.n, e: jwk.e };
      if (rest === "discovery/v2.0/keys") entry.issuer = v2Issuer("{tenantid}");
      return send(res, 200, { keys: [entry] });
    }
    if (rest === "oauth2/v2.0/authorize") {
      const p = url.searchParams;
      log.push({ kind: "authorize", url: url.toString(), user: user.username });
      const code = crypto.randomUUID();
      codes.set(code, { challenge: p.get("code_challenge"), clientId: p.get("client_id"), nonce: p.get("nonce"), scope: p.get("scope"), redirectUri: p.get("redirect_uri") });
      const answer = new URLSearchParams({ code, state: p.get("state") || "", client_info: b64url(JSON.stringify({ uid: user.oid, utid: tenant })) });
      const sep = p.get("response_mode") === "query" ? "?" : "#";
      return redirect(res, `${p.get("redirect_uri")}${sep}${answer}`);
    }
    if (rest === "oauth2/v2.0/token" && req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      log.push({ kind: "token", grant_type: form.get("grant_type") });
      if (form.get("grant_type") === "authorization_code") {
        const grant = codes.get(form.get("code"));
        codes.delete(form.get("code"));
        const verifier = form.get("code_verifier") || "";
        const challenge = crypto.createHash("sha256").update(verifier).digest("base64url");
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get("redirect_uri")) {
          return send(res, 400, { error: "invalid_grant", error_description: "AADSTS70008: the code or its PKCE verifier is wrong" });
        }
        return send(res, 200, tokens(tenant, grant.clientId, form.get("scope") || grant.scope, grant.nonce));
      }
      return send(res, 200, tokens(tenant, form.get("client_id"), form.get("scope"), undefined));
    }
    if (rest === "oauth2/v2.0/logout") {
      log.push({ kind: "logout", url: url.toString() });
      return redirect(res, url.searchParams.get("post_logout_redirect_uri") || "/");
    }
    return send(res, 404, { error: "not_found", path: url.pathname });
  } catch (e) {
    return send(res, 500, { error: "server_error", error_description: String(e) });
  }
});

server.listen(port, "127.0.0.1");
