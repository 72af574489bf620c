// What every part of the dashboard shares, in one Alpine store (`$store.session`): start-up and
// sign-in state, the signed-in user and their roles, the page shown, the Local time / UTC switch,
// the theme, and the error banner. Components read it through `session()` or the helpers below.
import { ApiError } from "./api.js";
import * as format from "./format.js";

const ROLE_RANK = { reader: 1, analyst: 2, admin: 3 };

/** The store itself (registered as "session" on alpine:init, by app.js). */
export const sessionStore = {
  ready: false, // signed in (or local mode) and `me` read: the pages may show
  needsSignIn: false,
  signedIn: false, // signed in with Entra ID (never in local mode)
  config: null, // GET /api/client-config
  me: null, // GET /api/me
  route: "events", // the id of the page shown (pages.js), or "not-found"
  theme: "light",
  utc: false,
  error: null, // { title, message, requestId }: the banner above the page

  init() {
    const stored = window.localStorage.getItem("aoc.theme");
    this.theme = stored || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    this.utc = window.localStorage.getItem("aoc.utc") === "1";
  },

  /** Whether the user has `role` or a higher one (reader < analyst < admin). */
  hasRole(role) {
    if (!this.me) return false;
    const want = ROLE_RANK[role] || 99;
    return (this.me.roles || []).some((r) => (ROLE_RANK[String(r).toLowerCase()] || 0) >= want);
  },

  /** Whether the server switched on a feature (`/api/client-config`'s `ai_features`, …). */
  feature(name) { return !!(this.config && this.config[name] === true); },

  /** Shows an error (an ApiError, or anything thrown) in the banner. */
  fail(e) {
    if (e instanceof ApiError) {
      this.error = { title: e.title, message: e.message, requestId: e.requestId };
    } else {
      this.error = { title: "Something went wrong.", message: String((e && e.message) || e), requestId: null };
    }
  },

  toggleTheme() {
    this.theme = this.theme === "dark" ? "light" : "dark";
    window.localStorage.setItem("aoc.theme", this.theme);
  },

  toggleUtc() {
    this.utc = !this.utc;
    window.localStorage.setItem("aoc.utc", this.utc ? "1" : "0");
  },
};

/** The session store (once Alpine has registered it). */
export function session() { return window.Alpine.store("session"); }

/**
 * Methods every component gets (composed in by `component()`), so templates stay simple under
 * the CSP build: `hasRole('analyst')`, `fmtTime(row.timestamp)`, `num(n)`, …
 */
export const helpers = {
  hasRole(role) { return session().hasRole(role); },
  fail(e) { session().fail(e); },
  fmtTime(iso) { return format.fmtTime(iso, session().utc); },
  utcTitle: format.utcTitle,
  ago: format.ago,
  num: format.num,
  authorText: format.authorText,
};

/**
 * One object from several, keeping getters as getters (a spread would read them once):
 * `component(state, methods)` is an Alpine.data factory's result with the helpers above.
 */
export function component(...parts) {
  const out = {};
  for (const part of [helpers, ...parts]) Object.defineProperties(out, Object.getOwnPropertyDescriptors(part));
  return out;
}
