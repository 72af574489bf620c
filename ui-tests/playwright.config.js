// Browser tests of the dashboard against a real `aoc serve --demo` (SQLite, the built-in
// Microsoft 365 simulator), in the system's Chromium (Debian's `chromium`): no browser download.
//   AOC_BIN      the aoc binary (default: the workspace's debug build)
//   CHROMIUM     the browser (default: /usr/bin/chromium)
//   AOC_UI_PORT  the port the server listens on (default 18431)
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { defineConfig } = require("@playwright/test");

const port = Number(process.env.AOC_UI_PORT || 18431);
// A second server with sign-in on, for the sign-in tests, and a stand-in Entra ID beside it
// (tests/fake-entra.js): AOC fetches its keys, the browser reaches it through routing.
const signInPort = port + 1;
const entraPort = port + 2;
const TENANT = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
const CLIENT_ID = "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36";
const targetDir = process.env.CARGO_TARGET_DIR || path.join(__dirname, "..", "target");
const bin = process.env.AOC_BIN || path.join(targetDir, "debug", "aoc");
// One database for the run, made here once: the config is read by every worker too, so the
// directory is chosen by the main process and passed on in the environment.
if (!process.env.AOC_UI_DATA) {
  process.env.AOC_UI_DATA = fs.mkdtempSync(path.join(os.tmpdir(), "aoc-ui-"));
}

/** `aoc <args>` on `port`, started before the tests and stopped after them. */
function server(args, listen, env) {
  return {
    command: `"${bin}" ${args}`,
    url: `http://127.0.0.1:${listen}/health`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: { AOC_BIND: `127.0.0.1:${listen}`, LOG_FORMAT: "json", RUST_LOG: "warn", ...env },
  };
}

module.exports = defineConfig({
  testDir: "./tests",
  // One server, shared state (tags, comments): one test at a time keeps every check exact.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: path.join(os.tmpdir(), "aoc-ui-results"),
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1280, height: 720 },
    acceptDownloads: true,
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // Chromium's own background traffic would be refused by a closed network; none is
      // wanted in a test that checks the page talks only to AOC.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    },
  },
  webServer: [
    {
      command: `node "${path.join(__dirname, "tests", "fake-entra.js")}" ${entraPort}`,
      url: `http://127.0.0.1:${entraPort}/health`,
      timeout: 30_000,
      reuseExistingServer: false,
    },
    server("serve --demo", port, {
      DATABASE_URL: `sqlite://${path.join(process.env.AOC_UI_DATA, "aoc.db")}`,
      // The suite runs more searches a minute than a person does.
      RATE_LIMIT_PER_MINUTE: "0",
      // Ask, without a model: AOC's parser reads the questions.
      AI_FEATURES_ENABLED: "true",
    }),
    server("serve", signInPort, {
      DATABASE_URL: `sqlite://${path.join(process.env.AOC_UI_DATA, "aoc-signin.db")}`,
      AUTH_TENANT_ID: TENANT,
      AUTH_AUDIENCE: `${CLIENT_ID},api://aoc-ui-test`,
      AUTH_AUTHORITY: `http://127.0.0.1:${entraPort}`,
    }),
  ],
  metadata: { signInPort, entraPort, tenant: TENANT, clientId: CLIENT_ID },
});
