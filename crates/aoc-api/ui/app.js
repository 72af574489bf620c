// AOC's web dashboard: one Alpine.js component (the CSP build: no eval, so the page runs
// under a strict Content-Security-Policy). Everything it shows comes from AOC's own JSON API.
"use strict";

// The pages, in navigation order. A later feature adds its page here and a <section> in
// index.html; `role` is the least role that sees it, `ready: false` keeps it out of the menu.
const PAGES = [
  { id: "events", path: "/events", title: "Events", role: "reader", ready: true },
  { id: "sources", path: "/sources", title: "Sources", role: "reader", ready: true },
  { id: "alerts", path: "/alerts", title: "Alerts", role: "reader", ready: false },
  { id: "analytics", path: "/analytics", title: "Analytics", role: "reader", ready: false },
  { id: "ask", path: "/ask", title: "Ask", role: "analyst", ready: false, when: "ai_features" },
  { id: "audit-trail", path: "/audit-trail", title: "Audit trail", role: "admin", ready: true },
];

const ROLE_RANK = { reader: 1, analyst: 2, admin: 3 };
const PAGE_SIZE = 50;
// The event filters the URL carries, by their API names.
const FILTERS = ["service", "operation", "actor", "target", "ip", "result", "tag", "q"];
// Plain names for the API's parameters, for error messages.
const PARAM_LABELS = {
  ip: "IP address", q: "Search", from: "From", to: "To", hours: "Time range",
  operation: "Operation", actor: "Actor", service: "Service", result: "Result",
  tag: "Tag", target: "Target", cursor: "Page", page_size: "Page size",
};
const RANGE_PRESETS = [
  { value: "1", label: "Last hour" },
  { value: "24", label: "Last 24 hours" },
  { value: "168", label: "Last 7 days" },
  { value: "720", label: "Last 30 days" },
  { value: "2160", label: "Last 90 days" },
  { value: "custom", label: "Custom range" },
];
const DEFAULT_RANGE = "168";

/** An API answer that was not a success, in words a person can act on. */
class ApiError extends Error {
  constructor(title, message, requestId, status) {
    super(message);
    this.title = title;
    this.requestId = requestId;
    this.status = status;
  }
}

function describeProblem(problem, status) {
  if (problem && Array.isArray(problem.invalid_params) && problem.invalid_params.length > 0) {
    const parts = problem.invalid_params.map((p) => `${PARAM_LABELS[p.name] || p.name} (${p.name}): ${p.reason}`);
    return ["That filter is not valid.", parts.join("; ")];
  }
  if (status === 401) return ["You are signed out.", "Sign in again to continue."];
  if (status === 403) return ["Not allowed.", (problem && problem.detail) || "Your roles do not allow this."];
  if (status === 429) return ["Too many requests.", (problem && problem.detail) || "Wait a minute and try again."];
  if (problem && problem.title) return [problem.title + ".", problem.detail || ""];
  if (status >= 500) return ["AOC had a problem.", "The server could not answer; try again, and check its log."];
  return ["Request failed.", `The server answered ${status}.`];
}

/** `2026-11-27T10:15:42.123Z` → a datetime-local value in the viewer's zone (or UTC). */
function toInputValue(iso, utc) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  if (utc) return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromInputValue(value, utc) {
  if (!value) return "";
  const d = utc ? new Date(value + ":00Z") : new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

/** A Graph `oldValue` is often JSON text (`"[\"Global Administrator\"]"`): shown plainly. */
function plainValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  let v = value;
  if (typeof v === "string") {
    const t = v.trim();
    if ((t.startsWith("[") || t.startsWith("{") || t.startsWith('"')) && t.length > 1) {
      try { v = JSON.parse(t); } catch (_) { return value; }
    } else {
      return value;
    }
  }
  if (Array.isArray(v)) return v.length === 0 ? "—" : v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ");
  if (typeof v === "string") return v === "" ? "—" : v;
  return JSON.stringify(v);
}

/** The "what changed" list of a raw record: Graph's and Intune's `modifiedProperties`, the
 * unified audit log's `ModifiedProperties`, wherever they sit. */
function changesOf(raw) {
  const out = [];
  const seen = new Set();
  const walk = (node, depth) => {
    if (!node || typeof node !== "object" || depth > 6) return;
    if (Array.isArray(node)) { node.forEach((n) => walk(n, depth + 1)); return; }
    for (const [key, value] of Object.entries(node)) {
      if ((key === "modifiedProperties" || key === "ModifiedProperties") && Array.isArray(value)) {
        for (const p of value) {
          if (!p || typeof p !== "object") continue;
          const name = p.displayName ?? p.Name ?? p.name ?? "";
          const change = { name: String(name), old: plainValue(p.oldValue ?? p.OldValue), new: plainValue(p.newValue ?? p.NewValue) };
          const key2 = change.name + "\u0000" + change.old + "\u0000" + change.new;
          if (!seen.has(key2)) { seen.add(key2); out.push(change); }
        }
      } else if (typeof value === "object") {
        walk(value, depth + 1);
      }
    }
  };
  walk(raw, 0);
  return out;
}

function humanDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Sign-in with Entra ID (MSAL: authorization code with PKCE, redirect flow). */
class SignIn {
  constructor(settings) {
    this.settings = settings;
    this.msal = null;
    this.account = null;
  }

  static loadLibrary() {
    if (window.msal) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/vendor/msal/msal-browser.min.js";
      script.onload = () => resolve();
      script.onerror = () => reject(new Error("the sign-in library did not load"));
      document.head.appendChild(script);
    });
  }

  async start() {
    await SignIn.loadLibrary();
    const origin = window.location.origin;
    this.msal = new window.msal.PublicClientApplication({
      auth: {
        clientId: this.settings.client_id,
        authority: this.settings.authority,
        // The bridge page hands the answer back to this page (MSAL v5).
        redirectUri: origin + "/auth/redirect.html",
        postLogoutRedirectUri: origin + "/",
      },
      cache: { cacheLocation: "sessionStorage" },
    });
    await this.msal.initialize();
    const result = await this.msal.handleRedirectPromise();
    if (result && result.account) this.msal.setActiveAccount(result.account);
    this.account = this.msal.getActiveAccount() || this.msal.getAllAccounts()[0] || null;
    if (this.account) this.msal.setActiveAccount(this.account);
    return this.account;
  }

  signIn() {
    return this.msal.loginRedirect({ scopes: this.settings.scopes, redirectStartPage: window.location.href });
  }

  signOut() {
    return this.msal.logoutRedirect({ account: this.account });
  }

  async token() {
    const request = { scopes: this.settings.scopes, account: this.account };
    try {
      return (await this.msal.acquireTokenSilent(request)).accessToken;
    } catch (e) {
      if (e instanceof window.msal.InteractionRequiredAuthError) {
        await this.msal.acquireTokenRedirect(request);
        return null;
      }
      throw e;
    }
  }
}

// The MSAL session lives outside Alpine's data: reactive proxies around MSAL's objects cannot
// be cloned into the messages MSAL posts between windows.
let session = null;

function emptyDetail() {
  return { event: { id: "", operation: "", raw: null, targets: [], actor: {} }, tags: [], comments: [] };
}

function aoc() {
  return {
    // Start-up and identity.
    ready: false,
    needsSignIn: false,
    config: null,
    me: null,
    signedIn: false,
    route: "events",
    theme: "light",
    utc: false,
    error: null,

    // Events.
    rangePresets: RANGE_PRESETS,
    form: { range: DEFAULT_RANGE, from: "", to: "", service: "", operation: "", actor: "", target: "", ip: "", result: "", tag: "", q: "" },
    window: null,
    events: [],
    page: 0,
    cursors: [null],
    nextCursor: null,
    loading: false,
    totals: null,
    tags: [],
    selectedIndex: -1,
    exporting: false,
    chart: null,
    loadSeq: 0,
    rawRange: null,
    openId: null,
    filtersOpen: false,

    // The open event. `detail` keeps the last one shown (never null: the panel's bindings stay
    // valid while it closes); `panelOpen` says whether it is shown.
    detail: emptyDetail(),
    panelOpen: false,
    openSeq: 0,
    changes: [],
    newTag: "",
    newComment: "",
    copied: false,
    explaining: false,
    explanation: null,

    // Sources.
    sources: [],
    coverage: [],
    sourcesLoaded: false,
    heatHours: [],
    heatCells: {},
    fetching: false,
    fetchElapsed: 0,
    fetchReport: null,

    // Ask.
    question: "",
    asking: false,
    askElapsed: 0,
    askStatus: "",
    answer: null,

    // Audit trail.
    auditForm: { actor: "", action: "", outcome: "" },
    audit: [],
    auditCursors: [null],
    auditPage: 0,
    auditNext: null,
    auditLoaded: false,

    async init() {
      const stored = window.localStorage.getItem("aoc.theme");
      this.theme = stored || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      this.utc = window.localStorage.getItem("aoc.utc") === "1";
      window.addEventListener("resize", () => this.resizeChart());
      try {
        this.config = await this.api("/api/client-config", { anonymous: true });
        if (this.config.auth === "entra") {
          if (!this.config.sign_in || !this.config.sign_in.client_id) {
            this.needsSignIn = true;
            return;
          }
          session = new SignIn(this.config.sign_in);
          const account = await session.start();
          if (!account) {
            this.needsSignIn = true;
            return;
          }
          this.signedIn = true;
        }
        this.me = await this.api("/api/me");
        this.ready = true;
        this.readUrl();
        await this.show();
      } catch (e) {
        // A token Entra ID gave but AOC refuses (another tenant, audience, expired): sign in again.
        if (session && e.status === 401) this.needsSignIn = true;
        this.fail(e);
      }
    },

    // ---- API ------------------------------------------------------------------------------

    async api(path, options = {}) {
      const headers = { Accept: "application/json" };
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      if (session && !options.anonymous) {
        const token = await session.token();
        if (token) headers.Authorization = "Bearer " + token;
      }
      let response;
      try {
        response = await fetch(path, {
          method: options.method || "GET",
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        });
      } catch (e) {
        throw new ApiError("AOC cannot be reached.", "Check that the server is running and your network.", null, 0);
      }
      const requestId = response.headers.get("x-request-id");
      if (!response.ok) {
        let problem = null;
        try { problem = await response.json(); } catch (_) { /* not JSON */ }
        const [title, message] = describeProblem(problem, response.status);
        throw new ApiError(title, message, requestId, response.status);
      }
      if (options.response) return response;
      if (response.status === 204) return null;
      return response.json();
    },

    fail(e) {
      if (e instanceof ApiError) {
        this.error = { title: e.title, message: e.message, requestId: e.requestId };
      } else {
        this.error = { title: "Something went wrong.", message: String((e && e.message) || e), requestId: null };
      }
    },

    dismissError() { this.error = null; },

    // ---- Identity and roles -----------------------------------------------------------------

    localMode() { return this.ready && this.config && this.config.auth === "off"; },
    canSignIn() { return !!(this.config && this.config.sign_in && this.config.sign_in.client_id); },
    async signIn() {
      try {
        if (!session) {
          session = new SignIn(this.config.sign_in);
          await session.start();
        }
        await session.signIn();
      } catch (e) { this.fail(e); }
    },
    async signOut() {
      try { await session.signOut(); } catch (e) { this.fail(e); }
    },
    hasRole(role) {
      if (!this.me) return false;
      const want = ROLE_RANK[role] || 99;
      return (this.me.roles || []).some((r) => (ROLE_RANK[String(r).toLowerCase()] || 0) >= want);
    },
    userName() { return this.me ? (this.me.name || this.me.username || "Local user") : ""; },
    userTitle() { return this.me ? `${this.me.username || this.me.object_id} · tenant ${this.me.tenant_id}` : ""; },
    rolesText() {
      if (!this.me || !this.me.roles || this.me.roles.length === 0) return "no role";
      return this.me.roles[this.me.roles.length - 1];
    },

    // ---- Pages, URL and keyboard ---------------------------------------------------------------

    /** A page shows when it is built, or when the server switched on the feature it needs. */
    pageOn(p) { return p.ready || (p.when && this.config && this.config[p.when] === true); },
    visiblePages() { return PAGES.filter((p) => this.pageOn(p) && this.hasRole(p.role)); },

    routeOf(pathname) {
      if (pathname === "/" || pathname === "") return "events";
      const page = PAGES.find((p) => p.path === pathname && this.pageOn(p));
      return page ? page.id : "not-found";
    },

    async go(id) {
      const page = PAGES.find((p) => p.id === id);
      if (!page) return;
      const query = id === "events" ? this.filterQuery(true) : "";
      window.history.pushState({}, "", page.path + (query ? "?" + query : ""));
      this.readUrl();
      await this.show();
    },

    async onPopState() {
      if (!this.ready) return;
      this.readUrl();
      await this.show();
    },

    readUrl() {
      this.route = this.routeOf(window.location.pathname);
      if (this.route !== "events") return;
      const params = new URLSearchParams(window.location.search);
      const f = { range: DEFAULT_RANGE, from: "", to: "", service: "", operation: "", actor: "", target: "", ip: "", result: "", tag: "", q: "" };
      for (const name of FILTERS) f[name] = params.get(name) || "";
      if (params.get("from") || params.get("to")) {
        f.range = "custom";
        f.from = toInputValue(params.get("from"), this.utc) || params.get("from") || "";
        f.to = toInputValue(params.get("to"), this.utc) || params.get("to") || "";
        this.rawRange = { from: params.get("from") || "", to: params.get("to") || "" };
      } else {
        f.range = params.get("hours") || DEFAULT_RANGE;
        this.rawRange = null;
      }
      this.form = f;
      this.openId = params.get("event");
    },

    /** The filters as a query string; `forUrl` keeps a preset relative (`hours=24`). */
    filterQuery(forUrl) {
      const params = new URLSearchParams();
      if (this.form.range === "custom") {
        // Times read from the URL or a chart selection keep their precision until edited.
        const from = this.rawRange ? this.rawRange.from : fromInputValue(this.form.from, this.utc);
        const to = this.rawRange ? this.rawRange.to : fromInputValue(this.form.to, this.utc);
        if (from) params.set("from", from);
        if (to) params.set("to", to);
      } else if (forUrl) {
        params.set("hours", this.form.range);
      } else if (this.window) {
        params.set("from", this.window.from);
        params.set("to", this.window.to);
      }
      for (const name of FILTERS) {
        const value = (this.form[name] || "").trim();
        if (value) params.set(name, value);
      }
      return params.toString();
    },

    async show() {
      this.error = null;
      this.hidePanel();
      if (this.route === "events") {
        const open = this.openId ? this.openEvent(this.openId) : null;
        await Promise.all([this.loadTags(), this.searchEvents(), open]);
      } else if (this.route === "sources") {
        await this.loadSources();
      } else if (this.route === "audit-trail") {
        await this.loadAudit(true);
      } else if (this.route === "ask") {
        this.$nextTick(() => this.$refs.question && this.$refs.question.focus());
      }
    },

    onKey(e) {
      const typing = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA" || e.target.tagName === "SELECT");
      if (e.key === "Escape") {
        if (this.panelOpen) { this.closeDetail(); e.preventDefault(); }
        return;
      }
      if (typing || !this.ready || this.route !== "events") return;
      if (e.key === "/") {
        e.preventDefault();
        this.$refs.search.focus();
        this.$refs.search.select();
      } else if (e.key === "ArrowDown" || e.key === "j") {
        e.preventDefault();
        this.select(Math.min(this.events.length - 1, this.selectedIndex + 1));
      } else if (e.key === "ArrowUp" || e.key === "k") {
        e.preventDefault();
        this.select(Math.max(0, this.selectedIndex - 1));
      }
    },

    themeClass() { return this.theme === "dark" ? "theme-dark" : "theme-light"; },
    toggleTheme() {
      this.theme = this.theme === "dark" ? "light" : "dark";
      window.localStorage.setItem("aoc.theme", this.theme);
      this.$nextTick(() => this.drawChart());
    },
    toggleUtc() {
      this.utc = !this.utc;
      window.localStorage.setItem("aoc.utc", this.utc ? "1" : "0");
      this.drawChart();
    },

    // ---- Formatting ----------------------------------------------------------------------------

    fmtTime(iso) {
      if (!iso) return "—";
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return String(iso);
      const pad = (n) => String(n).padStart(2, "0");
      if (this.utc) {
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
      }
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    },
    utcTitle(iso) { return iso ? String(iso) : ""; },
    ago(iso) {
      if (!iso) return "never";
      return humanDuration((Date.now() - new Date(iso).getTime()) / 1000) + " ago";
    },
    lagText(seconds) { return humanDuration(seconds); },
    num(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(); },
    actorText(e) {
      const a = e.actor || {};
      return a.upn || a.display_name || a.name || a.id || "—";
    },
    actorFull(e) {
      const a = e.actor || {};
      const parts = [a.display_name || a.name, a.upn, a.kind ? `(${a.kind})` : null, a.id && a.id !== a.upn ? a.id : null];
      return parts.filter(Boolean).join(" · ") || "—";
    },
    targetText(e) {
      const t = (e.targets || [])[0];
      if (!t) return "";
      const more = e.targets.length > 1 ? ` +${e.targets.length - 1}` : "";
      return (t.name || t.id || "") + more;
    },
    targetFull(t) { return [t.kind, t.name, t.id && t.id !== t.name ? t.id : null].filter(Boolean).join(" · "); },
    locationText(e) {
      const l = e.location || {};
      return [l.city, l.state, l.country].filter(Boolean).join(", ") || "—";
    },
    authorText(a) { return a ? (a.name || a.id) : "—"; },
    tagOption(t) { return `${t.tag} (${t.events})`; },

    // ---- Events --------------------------------------------------------------------------------

    rangeChanged() {
      if (this.form.range === "custom" && !this.form.from) {
        const now = new Date();
        this.form.to = toInputValue(now.toISOString(), this.utc);
        this.form.from = toInputValue(new Date(now.getTime() - 24 * 3600 * 1000).toISOString(), this.utc);
      }
      this.rawRange = null;
      if (this.form.range !== "custom") this.applyFilters();
    },

    rangeEdited() { this.rawRange = null; },

    // On a phone only the search shows until the other filters are asked for.
    toggleFilters() { this.filtersOpen = !this.filtersOpen; },
    filtersToggleText() {
      if (this.filtersOpen) return "Fewer filters";
      const set = FILTERS.filter((name) => name !== "q" && (this.form[name] || "").trim()).length;
      return set > 0 ? `Filters (${set} set)` : "Filters";
    },

    async applyFilters() {
      this.openId = null;
      this.hidePanel();
      window.history.pushState({}, "", "/events?" + this.filterQuery(true));
      await this.searchEvents();
    },

    async clearFilters() {
      this.form = { range: DEFAULT_RANGE, from: "", to: "", service: "", operation: "", actor: "", target: "", ip: "", result: "", tag: "", q: "" };
      await this.applyFilters();
    },

    /** A new search: page one, and the preset fixed to absolute times, so later pages, the
     * chart and an export all see the same rows even while new events arrive. */
    async searchEvents() {
      if (this.form.range !== "custom") {
        const now = new Date();
        this.window = {
          from: new Date(now.getTime() - Number(this.form.range) * 3600 * 1000).toISOString(),
          to: now.toISOString(),
        };
      } else {
        this.window = null;
      }
      this.error = null;
      this.page = 0;
      this.cursors = [null];
      this.selectedIndex = -1;
      await Promise.all([this.loadPage(), this.loadTotals()]);
    },

    async loadPage() {
      const seq = ++this.loadSeq;
      this.loading = true;
      try {
        const cursor = this.cursors[this.page];
        const query = this.filterQuery(false) + `&page_size=${PAGE_SIZE}` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
        const page = await this.api("/api/events?" + query);
        if (seq !== this.loadSeq) return;
        this.events = page.items;
        this.nextCursor = page.next_cursor || null;
      } catch (e) {
        if (seq === this.loadSeq) { this.events = []; this.nextCursor = null; this.fail(e); }
      } finally {
        if (seq === this.loadSeq) this.loading = false;
      }
    },

    async olderPage() {
      if (!this.nextCursor) return;
      this.cursors[this.page + 1] = this.nextCursor;
      this.page += 1;
      this.selectedIndex = -1;
      await this.loadPage();
    },

    async newerPage() {
      if (this.page === 0) return;
      this.page -= 1;
      this.selectedIndex = -1;
      await this.loadPage();
    },

    async loadTotals() {
      try {
        this.totals = await this.api("/api/events/aggregations?" + this.filterQuery(false));
      } catch (e) {
        this.totals = null;
        // The table's own error says the same; a rate limit on the chart alone is shown.
        if (e.status === 429) this.fail(e);
      }
      this.$nextTick(() => this.drawChart());
    },

    async loadTags() {
      try { this.tags = await this.api("/api/tags"); } catch (e) { this.tags = []; }
    },

    totalText() {
      if (!this.totals) return "";
      const n = Number(this.totals.total).toLocaleString();
      const rate = (this.totals.failure_rate * 100).toFixed(1);
      return `${n} events · ${rate}% failed`;
    },
    windowText() {
      if (!this.window) return "";
      return `${this.fmtTime(this.window.from)} – ${this.fmtTime(this.window.to)}`;
    },

    chartColors() {
      const style = getComputedStyle(document.body);
      return {
        count: style.getPropertyValue("--chart-count").trim() || "#2f6fdf",
        fail: style.getPropertyValue("--chart-fail").trim() || "#d64545",
        axis: style.getPropertyValue("--text-muted").trim() || "#666",
        grid: style.getPropertyValue("--border").trim() || "#ddd",
      };
    },

    drawChart() {
      const el = this.$refs.chart;
      if (!el || !window.uPlot) return;
      if (this.chart) { this.chart.destroy(); this.chart = null; }
      el.textContent = "";
      const timeline = (this.totals && this.totals.timeline) || [];
      if (timeline.length === 0) return;
      const xs = timeline.map((b) => new Date(b.start).getTime() / 1000);
      const counts = timeline.map((b) => b.count);
      const failures = timeline.map((b) => b.failures);
      const c = this.chartColors();
      const bars = window.uPlot.paths.bars({ size: [0.8, 40] });
      const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
      const opts = {
        width: Math.max(280, el.clientWidth || 800),
        height: 150,
        tzDate: this.utc ? (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") : undefined,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [
          {},
          { label: "Events", stroke: c.count, fill: c.count + "55", paths: bars, points: { show: false } },
          { label: "Failures", stroke: c.fail, fill: c.fail + "88", paths: bars, points: { show: false } },
        ],
        axes: [axis, { ...axis, size: 50 }],
        hooks: {
          // Dragging across the chart narrows the time range to the selection.
          setSelect: [(u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, "x");
            const to = u.posToVal(u.select.left + u.select.width, "x");
            this.form.range = "custom";
            this.rawRange = { from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString() };
            this.form.from = toInputValue(this.rawRange.from, this.utc);
            this.form.to = toInputValue(this.rawRange.to, this.utc);
            window.history.pushState({}, "", "/events?" + this.filterQuery(true));
            this.searchEvents();
          }],
        },
      };
      this.chart = new window.uPlot(opts, [xs, counts, failures], el);
    },

    resizeChart() {
      const el = this.$refs.chart;
      if (this.chart && el) this.chart.setSize({ width: Math.max(280, el.clientWidth), height: 150 });
    },

    async exportEvents(format) {
      this.exporting = true;
      try {
        const query = this.filterQuery(false) + "&format=" + format;
        const response = await this.api("/api/events/export?" + query, { response: true });
        const blob = await response.blob();
        const disposition = response.headers.get("content-disposition") || "";
        const match = /filename="?([^";]+)"?/.exec(disposition);
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = match ? match[1] : `aoc-events.${format}`;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      } catch (e) {
        this.fail(e);
      } finally {
        this.exporting = false;
      }
    },

    select(index) {
      if (index < 0 || index >= this.events.length) return;
      this.selectedIndex = index;
      const row = this.$root.querySelector(`tr[data-event-id="${this.events[index].id}"]`);
      if (row) { row.focus({ preventScroll: true }); row.scrollIntoView({ block: "nearest" }); }
      this.openEvent(this.events[index].id, true);
    },

    // ---- The open event ------------------------------------------------------------------------

    async openEvent(id, remember) {
      // Arrowing through rows starts a load per row: only the newest may open the panel, and
      // closing it discards any still on their way.
      const seq = ++this.openSeq;
      try {
        // The API answers the event itself, with its tags and comments beside its fields.
        const event = await this.api("/api/events/" + encodeURIComponent(id));
        if (seq !== this.openSeq) return;
        this.detail = { event, tags: event.tags || [], comments: event.comments || [] };
        this.changes = changesOf(event.raw);
        this.copied = false;
        if (!this.explanation || this.explanation.event_id !== event.id) this.explanation = null;
        this.panelOpen = true;
        if (remember) {
          const params = new URLSearchParams(window.location.search);
          params.set("event", id);
          window.history.replaceState({}, "", "/events?" + params.toString());
        }
      } catch (e) {
        if (seq === this.openSeq) this.fail(e);
      }
    },

    /** Hides the panel and drops any event load still on its way. */
    hidePanel() {
      this.openSeq += 1;
      this.panelOpen = false;
    },

    closeDetail() {
      this.hidePanel();
      const params = new URLSearchParams(window.location.search);
      if (params.has("event")) {
        params.delete("event");
        window.history.replaceState({}, "", "/events" + (params.toString() ? "?" + params.toString() : ""));
      }
    },

    canExplain() { return !!(this.config && this.config.ai_features && this.hasRole("analyst")); },
    async explainEvent() {
      if (!this.panelOpen || this.explaining) return;
      const id = this.detail.event.id;
      this.explaining = true;
      try {
        const answer = await this.api(`/api/events/${encodeURIComponent(id)}/explain`, { method: "POST" });
        if (this.panelOpen && this.detail.event.id === id) this.explanation = answer;
      } catch (e) {
        this.fail(e);
      } finally {
        this.explaining = false;
      }
    },
    explanationSource() {
      if (!this.explanation) return "";
      const who = this.explanation.written_by === "model" ? "Written by the model from the event's fields" : "AOC's notes on this operation";
      return who + (this.explanation.cached ? " (from the cache)." : ".");
    },

    rawText() { return this.panelOpen ? JSON.stringify(this.detail.event.raw, null, 2) : ""; },

    async copyRaw() {
      try {
        await navigator.clipboard.writeText(this.rawText());
        this.copied = true;
        setTimeout(() => { this.copied = false; }, 2000);
      } catch (_) {
        // No clipboard (an insecure origin): select the text so Ctrl+C copies it.
        const pre = this.$root.querySelector("pre.raw");
        const range = document.createRange();
        range.selectNodeContents(pre);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    },

    async refreshDetail() {
      if (this.panelOpen) await this.openEvent(this.detail.event.id);
      await this.loadTags();
    },

    async addTag() {
      const tag = this.newTag.trim();
      if (!tag || !this.panelOpen) return;
      try {
        await this.api(`/api/events/${encodeURIComponent(this.detail.event.id)}/tags`, { method: "POST", body: { tag } });
        this.newTag = "";
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    async removeTag(tag) {
      try {
        await this.api(`/api/events/${encodeURIComponent(this.detail.event.id)}/tags/${encodeURIComponent(tag)}`, { method: "DELETE" });
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    async addComment() {
      const body = this.newComment.trim();
      if (!body || !this.panelOpen) return;
      try {
        await this.api(`/api/events/${encodeURIComponent(this.detail.event.id)}/comments`, { method: "POST", body: { body } });
        this.newComment = "";
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    canDeleteComment(c) {
      if (!this.me || !this.hasRole("analyst")) return false;
      return this.hasRole("admin") || (c.author && c.author.id === this.me.object_id);
    },

    async deleteComment(c) {
      if (!window.confirm("Delete this comment?")) return;
      try {
        await this.api(`/api/comments/${encodeURIComponent(c.id)}`, { method: "DELETE" });
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    // ---- Sources -------------------------------------------------------------------------------

    async loadSources() {
      try {
        const [sources, coverage] = await Promise.all([this.api("/api/sources"), this.api("/api/sources/coverage")]);
        this.sources = sources.sources;
        this.coverage = [...coverage.hours].sort((a, b) => (a.hour < b.hour ? 1 : a.hour > b.hour ? -1 : 0));
        this.buildHeat(coverage);
      } catch (e) {
        this.fail(e);
      } finally {
        this.sourcesLoaded = true;
      }
    },

    /** `ok` that has fallen more than an hour behind is shown as lagging: collection runs but
     * does not keep up (throttling, a slow tenant), which an admin wants to see at a glance. */
    statusText(s) {
      if (s.status === "ok" && s.lag_seconds > 3600) return "lagging";
      return { ok: "ok", error: "failing", never_run: "never run", running: "running" }[s.status] || s.status;
    },
    statusClass(s) {
      return "s-" + this.statusText(s).replace(" ", "-");
    },
    /** The coverage map: one column per hour of the page's range, one cell per source. */
    buildHeat(coverage) {
      const hours = [];
      const start = Math.floor(new Date(coverage.from).getTime() / 3600000) * 3600000;
      const end = new Date(coverage.to).getTime();
      for (let t = start; t < end && hours.length < 48; t += 3600000) {
        const d = new Date(t);
        const hour = this.utc ? d.getUTCHours() : d.getHours();
        hours.push({ t, iso: d.toISOString(), label: hour % 3 === 0 ? String(hour).padStart(2, "0") : "" });
      }
      const cells = {};
      for (const row of coverage.hours) {
        cells[`${row.tenant_id}|${row.source}|${new Date(row.hour).getTime()}`] = row;
      }
      this.heatHours = hours;
      this.heatCells = cells;
    },
    heatRow(s, h) { return this.heatCells[`${s.tenant_id}|${s.source}|${h.t}`]; },
    heatState(s, h) {
      const row = this.heatRow(s, h);
      if (!row) return "none";
      if (row.content_expired > 0) return "lost";
      const pending = row.content_listed > 0;
      // Microsoft's own delay (event → available), not AOC's: a backfill stores day-old records
      // on time, while a workload publishing hours late is worth a look.
      const late = row.available_delay && row.available_delay.count > 0 && row.available_delay.max_seconds > 3600;
      if (pending || late) return "late";
      return row.records_fetched > 0 || row.content_fetched > 0 ? "ok" : "none";
    },
    heatTitle(s, h) {
      const row = this.heatRow(s, h);
      const when = this.fmtTime(h.iso);
      if (!row) return `${s.source}, ${when}: nothing listed or fetched`;
      let text = `${s.source}, ${when}: ${this.num(row.records_fetched)} records fetched, ${this.num(row.records_stored)} stored`;
      if (row.content_listed || row.content_fetched || row.content_expired) {
        text += `; content ${this.num(row.content_fetched)} fetched, ${this.num(row.content_listed)} waiting, ${this.num(row.content_expired)} expired`;
      }
      if (row.available_delay && row.available_delay.count) text += `; published up to ${humanDuration(row.available_delay.max_seconds)} after the event`;
      if (row.stored_delay && row.stored_delay.count) text += `; stored up to ${humanDuration(row.stored_delay.max_seconds)} after it`;
      return text;
    },
    lastRunText(s) {
      if (!s.last_run) return "—";
      return `${this.num(s.last_run.fetched)} fetched, ${this.num(s.last_run.new)} new`;
    },
    errorOf(s) {
      if (!s.last_error) return "";
      return (s.last_error.code ? s.last_error.code + ": " : "") + s.last_error.message + " (" + this.ago(s.last_error.at) + ")";
    },
    latenessText(h) { return h.available_delay && h.available_delay.count ? humanDuration(h.available_delay.max_seconds) : "—"; },
    latenessTitle(h) {
      const parts = [];
      const a = h.available_delay;
      const st = h.stored_delay;
      if (a && a.count) parts.push(`published after the event: mean ${humanDuration(a.mean_seconds)}, longest ${humanDuration(a.max_seconds)}`);
      if (st && st.count) parts.push(`stored by AOC after the event: mean ${humanDuration(st.mean_seconds)}, longest ${humanDuration(st.max_seconds)}`);
      return parts.join("; ");
    },
    coverageWarn(h) { return h.content_expired > 0; },

    async fetchNow() {
      this.fetching = true;
      this.fetchReport = null;
      this.fetchElapsed = 0;
      const started = Date.now();
      const timer = setInterval(() => { this.fetchElapsed = Math.round((Date.now() - started) / 1000); }, 500);
      try {
        this.fetchReport = await this.api("/api/fetch-audit-logs", { method: "POST" });
        await this.loadSources();
      } catch (e) {
        this.fail(e);
      } finally {
        clearInterval(timer);
        this.fetching = false;
      }
    },
    fetchRuns() { return (this.fetchReport && this.fetchReport.runs) || []; },
    fetchSummary() {
      const r = this.fetchReport;
      if (!r) return "";
      const failed = r.failed ? `, ${r.failed} source(s) failed` : "";
      return `Fetched ${this.num(r.fetched)} records, ${this.num(r.new)} new${failed}.`;
    },
    runText(run) {
      const problem = run.problem ? ` — ${run.problem.message || run.problem.code || "problem"}` : "";
      return `${run.status}: ${this.num(run.fetched)} fetched, ${this.num(run.new)} new${problem}`;
    },

    // ---- Ask -----------------------------------------------------------------------------------

    /**
     * Asks in the background (the question becomes a job on the server's queue) and polls the
     * job until it ends, so a slow model never holds a request open and the page shows progress.
     */
    async askQuestion() {
      const question = this.question.trim();
      if (!question || this.asking) return;
      this.asking = true;
      this.answer = null;
      this.askElapsed = 0;
      this.askStatus = "queued";
      const started = Date.now();
      const timer = setInterval(() => { this.askElapsed = Math.round((Date.now() - started) / 1000); }, 500);
      try {
        const accepted = await this.api("/api/ask", { method: "POST", body: { question, async: true } });
        let wait = 300;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          wait = Math.min(wait * 1.5, 2000);
          const job = await this.api(accepted.status_url);
          this.askStatus = job.status;
          if (job.status === "succeeded") {
            this.answer = job.result;
            break;
          }
          if (job.status === "failed") {
            throw new ApiError("The question could not be answered.", job.error || "The job failed.", null, 0);
          }
        }
      } catch (e) {
        this.fail(e);
      } finally {
        clearInterval(timer);
        this.asking = false;
        this.askStatus = "";
      }
    },
    askProgress() {
      const what = this.askStatus === "running" ? "Working on it…" : "Waiting for a worker…";
      return `${what} ${this.askElapsed} s`;
    },
    /** The answer's text in pieces: words, and cited event ids that open the event. */
    answerParts() {
      if (!this.answer) return [];
      const cited = new Set(this.answer.cited);
      const parts = [];
      const re = /\[([0-9a-f-]{36})\]/g;
      let last = 0;
      let m;
      const text = this.answer.answer;
      while ((m = re.exec(text)) !== null) {
        if (m.index > last) parts.push({ text: text.slice(last, m.index), id: null, key: parts.length });
        parts.push({ text: cited.has(m[1]) ? m[1].slice(0, 8) : m[0], id: cited.has(m[1]) ? m[1] : null, key: parts.length });
        last = m.index + m[0].length;
      }
      if (last < text.length) parts.push({ text: text.slice(last), id: null, key: parts.length });
      return parts;
    },
    answerQuery() {
      if (!this.answer) return "";
      return Object.entries(this.answer.query).map(([k, v]) => `${k}=${v}`).join("  ") || "(every event)";
    },
    answerSource() {
      if (!this.answer) return "";
      const read = this.answer.read_by === "model" ? "read by the model" : "read by AOC's parser";
      const written = this.answer.written_by === "model" ? "worded by the model" : "AOC's summary";
      return `${read}, ${written}${this.answer.cached ? ", from the cache" : ""}`;
    },
    answerEventsLink() {
      if (!this.answer) return "/events";
      const params = new URLSearchParams(this.answer.query);
      return "/events?" + params.toString();
    },
    async openCited(id) {
      await this.openEvent(id, false);
    },
    async showAnswerEvents() {
      if (!this.answer) return;
      window.history.pushState({}, "", this.answerEventsLink());
      this.readUrl();
      await this.show();
    },

    // ---- Audit trail ---------------------------------------------------------------------------

    async loadAudit(first) {
      if (first) { this.auditPage = 0; this.auditCursors = [null]; }
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(this.auditForm)) if (v.trim()) params.set(k, v.trim());
      const cursor = this.auditCursors[this.auditPage];
      if (cursor) params.set("cursor", cursor);
      try {
        const page = await this.api("/api/audit-trail?" + params.toString());
        this.audit = page.items;
        this.auditNext = page.next_cursor || null;
      } catch (e) {
        this.fail(e);
      } finally {
        this.auditLoaded = true;
      }
    },

    async olderAudit() {
      if (!this.auditNext) return;
      this.auditCursors[this.auditPage + 1] = this.auditNext;
      this.auditPage += 1;
      await this.loadAudit(false);
    },
  };
}

document.addEventListener("alpine:init", () => {
  window.Alpine.data("aoc", aoc);
});
