// The Events page: filters (kept in the URL), the count-over-time chart, the events table with
// keyset paging, keyboard moves, and export. A row opens in the event panel (event-panel.js).
import { api } from "../core/api.js";
import { actorText, fmtTime, fromInputValue, relativeTime, seenVia, sourceText, targetText, toInputValue } from "../core/format.js";
import { session } from "../core/session.js";
import { eventPanel } from "./event-panel.js";
import { tags } from "./event-tags.js";
import { drawChart, resizeChart } from "./events-chart.js";
import { savedSearches } from "./saved-searches.js";
import { FACETS, PAGE_SIZE, PAGE_SIZES, RANGE_PRESETS, activeFilters, emptyForm, facetFilterValue, filterQuery, filtersSet, fixedWindow, moveFiltersToQuery, queryErrorOf, readFilters, typedTime, COLUMNS, applicationOf, loadColumns } from "./events-filters.js";

export function eventsPage() {
  // The uPlot chart, kept out of Alpine's reactive data.
  let chart = null;
  // One pending suggestion request per field, replaced as the person types.
  const suggestTimers = {};
  // The live search's timer, kept out of Alpine's reactive data.
  let liveTimer = null;
  const LIVE_SECONDS = 15;

  return {
    ...savedSearches(),
    rangePresets: RANGE_PRESETS,
    pageSizes: PAGE_SIZES,
    form: emptyForm(),
    rawRange: null, // a custom range's times as the URL or the chart gave them, until edited
    window: null, // the search's fixed { from, to } for a preset range
    applied: null, // the form as the shown results were searched with: the chips
    events: [],
    page: 0,
    cursors: [null],
    nextCursor: null,
    loading: false,
    loadSeq: 0,
    totals: null,
    totalsSeq: 0,
    facets: null, // the most frequent values of each facet, for the search shown
    suggestions: { service: [], operation: [], actor: [], target: [], application: [], ip: [], source: [], country: [] },
    facetList: FACETS,
    selectedIndex: -1,
    exporting: false,
    filtersOpen: false,
    helpOpen: false,
    queryError: null, // the search's query-language error, with a caret at the character
    searchFailed: false, // the last search was refused or failed (not: found nothing)
    live: false, // search again every LIVE_SECONDS while a preset range is shown
    compact: window.localStorage.getItem("aoc.compact") === "1",
    columnList: COLUMNS,
    columns: loadColumns(), // { name: shown } for the columns besides the time
    relativeTimes: window.localStorage.getItem("aoc.relative-times") === "1",
    now: Date.now(), // what relative times count from, moved on every 30 seconds

    get tags() { return tags().list; },

    init() {
      setInterval(() => { this.now = Date.now(); }, 30_000);
      window.addEventListener("resize", () => resizeChart(chart, this.$refs.chart));
      // The chart's colours are the theme's and its axis follows the UTC switch.
      this.$watch("$store.session.theme", () => this.$nextTick(() => this.drawChart()));
      this.$watch("$store.session.utc", () => this.drawChart());
    },

    /** The search box names a time: the range selector stands aside. */
    rangeTyped() { return typedTime(this.form.q); },

    /** Whether the column `name` is shown. */
    col(name) { return this.columns[name] !== false; },
    columnsChanged() { window.localStorage.setItem("aoc.columns", JSON.stringify(this.columns)); },
    relativeTimesChanged() { window.localStorage.setItem("aoc.relative-times", this.relativeTimes ? "1" : "0"); },
    /** A row's time: relative ("12 min ago") or as a time in the page's zone. */
    timeText(iso) { return this.relativeTimes ? relativeTime(iso, this.now, session().utc) : fmtTime(iso, session().utc); },
    /** The tooltip of a row's time: the exact time in the page's zone, and as the API sent it. */
    timeTitle(iso) { return `${fmtTime(iso, session().utc)}  (${iso})`; },
    applicationOf,

    /** The time column's heading names the zone its times are in. */
    timeHeader() {
      if (this.relativeTimes) return "Time (ago)";
      if (session().utc) return "Time (UTC)";
      const minutes = 0 - new Date().getTimezoneOffset();
      const sign = minutes < 0 ? "−" : "+";
      const abs = Math.abs(minutes);
      const hh = String(Math.floor(abs / 60)).padStart(2, "0");
      const mm = String(abs % 60).padStart(2, "0");
      return `Time (UTC${sign}${hh}:${mm})`;
    },

    compactChanged() { window.localStorage.setItem("aoc.compact", this.compact ? "1" : "0"); },

    /** Live: while on, a preset range's first page is searched again every LIVE_SECONDS (the
     * newest events arrive); a custom range, an older page, or edits not applied yet are left as
     * they are. Leaving the page turns it off. */
    liveChanged() {
      clearInterval(liveTimer);
      liveTimer = null;
      if (!this.live) return;
      liveTimer = setInterval(() => {
        if (!this.live || !this.shown()) { clearInterval(liveTimer); liveTimer = null; this.live = false; return; }
        // Not while the form holds edits not applied yet: those are the person's, not the search's.
        const pending = JSON.stringify(this.form) !== JSON.stringify(this.applied);
        if (this.form.range !== "custom" && this.page === 0 && !this.loading && !pending) this.searchEvents();
      }, LIVE_SECONDS * 1000);
    },

    /** A visit: the search the URL holds, and the event it names in the panel. */
    async show(params) {
      const { form, rawRange, openId } = readFilters(params, session().utc);
      this.form = form;
      this.rawRange = rawRange;
      const open = openId ? eventPanel.open(openId) : null;
      await Promise.all([tags().load(), this.loadSaved(), this.searchEvents(), open]);
    },

    /** Coming back from another page keeps the filters. */
    urlQuery() { return this.query(true); },

    query(forUrl) { return filterQuery(this, forUrl, session().utc); },

    // ---- Filters -------------------------------------------------------------------------------

    rangeChanged() {
      if (this.form.range === "custom" && !this.form.from) {
        const now = new Date();
        const utc = session().utc;
        this.form.to = toInputValue(now.toISOString(), utc);
        this.form.from = toInputValue(new Date(now.getTime() - 24 * 3600 * 1000).toISOString(), utc);
      }
      this.rawRange = null;
      if (this.form.range !== "custom") this.applyFilters();
    },

    rangeEdited() { this.rawRange = null; },

    // On a phone only the search shows until the other filters are asked for.
    toggleFilters() { this.filtersOpen = !this.filtersOpen; },
    filtersToggleText() {
      if (this.filtersOpen) return "Fewer filters";
      const set = filtersSet(this.form);
      return set > 0 ? `Filters (${set} set)` : "Filters";
    },
    tagOption(t) { return `${t.tag} (${t.events})`; },

    async applyFilters() {
      eventPanel.hide();
      window.history.pushState({}, "", "/events?" + this.query(true));
      await this.searchEvents();
    },

    /** The field filters written into the search box as query text, to edit as text. */
    editAsQuery() {
      this.form = moveFiltersToQuery(this.form);
      this.$nextTick(() => this.$refs.search.focus());
    },

    async clearFilters() {
      this.form = emptyForm();
      await this.applyFilters();
    },

    /** The filters the shown results were searched with, one chip each. */
    chips() { return activeFilters(this.applied || emptyForm()); },
    async removeFilter(name) {
      this.form = { ...(this.applied || this.form), [name]: "" };
      await this.applyFilters();
    },

    // ---- The search ----------------------------------------------------------------------------

    /** A new search: page one, and the preset fixed to absolute times, so later pages, the
     * chart and an export all see the same rows even while new events arrive. */
    async searchEvents() {
      this.window = fixedWindow(this.form.range, session().utc);
      this.applied = { ...this.form };
      session().error = null;
      this.queryError = null;
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
        const size = Number((this.applied || this.form).pageSize) || PAGE_SIZE;
        const query = this.query(false) + `&page_size=${size}` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
        const page = await api("/api/events?" + query);
        if (seq !== this.loadSeq) return;
        this.events = page.items;
        this.nextCursor = page.next_cursor || null;
        this.searchFailed = false;
      } catch (e) {
        if (seq === this.loadSeq) {
          this.events = [];
          this.nextCursor = null;
          this.searchFailed = true;
          this.queryError = queryErrorOf(e, (this.applied || this.form).q);
          this.fail(e);
        }
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
      // Only the newest search's figures may show: an older one's can answer later.
      const seq = ++this.totalsSeq;
      this.loadFacets(seq);
      try {
        const totals = await api("/api/events/aggregations?" + this.query(false));
        if (seq !== this.totalsSeq) return;
        this.totals = totals;
      } catch (e) {
        if (seq !== this.totalsSeq) return;
        this.totals = null;
        // The table's own error says the same; a rate limit on the chart alone is shown.
        if (e.status === 429) this.fail(e);
      }
      this.$nextTick(() => this.drawChart());
    },

    async loadFacets(seq) {
      try {
        const answer = await api("/api/events/facets?top=5&" + this.query(false));
        if (seq === this.totalsSeq) this.facets = answer.facets;
      } catch (_) {
        // The table and figures say what went wrong; the facets just stay away.
        if (seq === this.totalsSeq) this.facets = null;
      }
    },
    /** Values from the data, with counts, for what is being typed in `field` (within the rest
     * of the search shown). */
    suggest(field) {
      clearTimeout(suggestTimers[field]);
      suggestTimers[field] = setTimeout(async () => {
        const typed = (this.form[field] || "").trim();
        // An address filter takes whole addresses only: the most frequent ones that start with
        // what is typed.
        const byPrefix = field === "ip";
        const base = { ...(this.applied || this.form), [field]: byPrefix ? "" : typed };
        const query = filterQuery({ form: base, rawRange: this.rawRange, window: this.window }, false, session().utc);
        try {
          const answer = await api(`/api/events/facets?fields=${field}&top=${byPrefix ? 100 : 8}&` + query);
          const values = answer.facets[field] || [];
          // An event's other targets come along with the one typed: only those that match it.
          const part = typed.toLowerCase().replace(/^"|"$/g, "");
          this.suggestions[field] = byPrefix
            ? values.filter((v) => v.value.startsWith(typed)).slice(0, 8)
            : field === "target" ? values.filter((v) => v.value.includes(part)) : values;
        } catch (_) {
          this.suggestions[field] = [];
        }
      }, 250);
    },
    suggestionText(v) { return `${v.value} (${Number(v.count).toLocaleString()})`; },

    facetValues(name) { return (this.facets && this.facets[name]) || []; },
    facetText(name, value) { return name === "country" ? value.toUpperCase() : value; },
    /** A click on a facet value: only events with it (`exclude`: none with it). */
    async pickFacet(name, value, exclude) {
      this.form = { ...(this.applied || this.form) };
      this.form[(exclude ? "not_" : "") + name] = facetFilterValue(name, value);
      await this.applyFilters();
    },

    totalText() {
      if (!this.totals) return "";
      const n = Number(this.totals.total).toLocaleString();
      const rate = (this.totals.failure_rate * 100).toFixed(1);
      return `${n} events · ${rate}% failed`;
    },
    /** The period the results cover: a preset's fixed window, or the custom range (a chart
     * selection included) as the search has it. */
    windowText() {
      if (typedTime((this.applied || this.form).q)) return "the time the search box sets";
      const utc = session().utc;
      const range = this.window
        || this.rawRange
        || { from: fromInputValue(this.form.from, utc), to: fromInputValue(this.form.to, utc) };
      if (!range.from && !range.to) return "";
      return `${range.from ? this.fmtTime(range.from) : "…"} – ${range.to ? this.fmtTime(range.to) : "now"}`;
    },
    actorText,
    sourceText,
    seenViaTitle(row) { return "Seen via " + seenVia(row).join(", "); },
    targetText,

    // ---- The chart -----------------------------------------------------------------------------

    drawChart() {
      const el = this.$refs.chart;
      if (!el || !window.uPlot) return;
      if (chart) { chart.destroy(); chart = null; }
      const timeline = this.totals && this.totals.timeline;
      chart = drawChart(el, timeline, session().utc, (from, to) => this.selectPeriod(from, to));
    },

    /** Dragging across the chart narrows the time range to the selection. */
    selectPeriod(from, to) {
      const utc = session().utc;
      this.form.range = "custom";
      this.rawRange = { from, to };
      this.form.from = toInputValue(from, utc);
      this.form.to = toInputValue(to, utc);
      window.history.pushState({}, "", "/events?" + this.query(true));
      this.searchEvents();
    },

    // ---- Export --------------------------------------------------------------------------------

    async exportEvents(format) {
      this.exporting = true;
      try {
        const query = this.query(false) + "&format=" + format;
        const response = await api("/api/events/export?" + query, { response: true });
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

    // ---- Rows and the keyboard -----------------------------------------------------------------

    select(index) {
      if (index < 0 || index >= this.events.length) return;
      this.selectedIndex = index;
      const row = this.$root.querySelector(`tr[data-event-id="${this.events[index].id}"]`);
      if (row) { row.focus({ preventScroll: true }); row.scrollIntoView({ block: "nearest" }); }
      eventPanel.open(this.events[index].id, true);
    },

    /** `/` focuses the search; ↓ ↑ (j k) move through the rows, on to the next page; `?` shows
     * the keys. (Esc is the panel's.) */
    onKey(e) {
      const typing = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA" || e.target.tagName === "SELECT");
      if (typing || e.key === "Escape" || !this.shown()) return;
      if (e.key === "/") {
        e.preventDefault();
        this.$refs.search.focus();
        this.$refs.search.select();
      } else if (e.key === "?") {
        e.preventDefault();
        this.helpOpen = !this.helpOpen;
      } else if (e.key === "ArrowDown" || e.key === "j") {
        e.preventDefault();
        if (this.selectedIndex >= this.events.length - 1 && this.nextCursor) {
          // Past the last row: the next page, from its first row.
          this.olderPage().then(() => this.select(0));
        } else {
          this.select(Math.min(this.events.length - 1, this.selectedIndex + 1));
        }
      } else if (e.key === "ArrowUp" || e.key === "k") {
        e.preventDefault();
        this.select(Math.max(0, this.selectedIndex - 1));
      }
    },
  };
}
