// The Sources page: every tenant and source with its status, lag, last run and last error; the
// coverage map of the last 24 hours (a cell per source and hour) with the figures per hour; and
// Fetch now (Admins).
import { api } from "../core/api.js";
import { humanDuration } from "../core/format.js";
import { session } from "../core/session.js";

export function sourcesPage() {
  return {
    sources: [],
    coverage: [],
    sourcesLoaded: false,
    heatHours: [],
    heatCells: {},
    fetching: false,
    fetchElapsed: 0,
    fetchReport: null,

    show() { return this.loadSources(); },

    async loadSources() {
      try {
        const [sources, coverage] = await Promise.all([api("/api/sources"), api("/api/sources/coverage")]);
        this.sources = sources.sources;
        this.coverage = [...coverage.hours].sort((a, b) => (a.hour < b.hour ? 1 : a.hour > b.hour ? -1 : 0));
        this.buildHeat(coverage);
      } catch (e) {
        this.fail(e);
      } finally {
        this.sourcesLoaded = true;
      }
    },

    // ---- The sources table ---------------------------------------------------------------------

    /** `ok` that has fallen more than an hour behind is shown as lagging: collection runs but
     * does not keep up (throttling, a slow tenant), which an admin wants to see at a glance. */
    statusText(s) {
      if (s.status === "ok" && s.lag_seconds > 3600) return "lagging";
      return { ok: "ok", error: "failing", never_run: "never run", running: "running" }[s.status] || s.status;
    },
    statusClass(s) {
      return "s-" + this.statusText(s).replace(" ", "-");
    },
    lagText(seconds) { return humanDuration(seconds); },
    lastRunText(s) {
      if (!s.last_run) return "—";
      return `${this.num(s.last_run.fetched)} fetched, ${this.num(s.last_run.new)} new`;
    },
    errorOf(s) {
      if (!s.last_error) return "";
      return (s.last_error.code ? s.last_error.code + ": " : "") + s.last_error.message + " (" + this.ago(s.last_error.at) + ")";
    },

    // ---- The coverage map ----------------------------------------------------------------------

    /** One column per hour of the page's range, one cell per source. */
    buildHeat(coverage) {
      const hours = [];
      const utc = session().utc;
      const start = Math.floor(new Date(coverage.from).getTime() / 3600000) * 3600000;
      const end = new Date(coverage.to).getTime();
      for (let t = start; t < end && hours.length < 48; t += 3600000) {
        const d = new Date(t);
        const hour = utc ? d.getUTCHours() : d.getHours();
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

    // ---- Figures per hour ----------------------------------------------------------------------

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

    // ---- Fetch now -----------------------------------------------------------------------------

    async fetchNow() {
      this.fetching = true;
      this.fetchReport = null;
      this.fetchElapsed = 0;
      const started = Date.now();
      const timer = setInterval(() => { this.fetchElapsed = Math.round((Date.now() - started) / 1000); }, 500);
      try {
        this.fetchReport = await api("/api/fetch-audit-logs", { method: "POST" });
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
  };
}
