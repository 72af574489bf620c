// A person's timeline: what one actor did, day by day from the latest back, beside where they
// signed in from, with which applications, and what they did most
// (`/timeline?actor=<upn>&hours=720`). Reached from the event panel; a row opens in the panel.
import { api } from "../core/api.js";
import { locationText, targetText } from "../core/format.js";
import { session } from "../core/session.js";
import { navigate } from "../core/router.js";
import { eventPanel } from "./event-panel.js";
import { applicationOf } from "./events-filters.js";

const RANGES = [
  { value: "24", label: "Last 24 hours" },
  { value: "168", label: "Last 7 days" },
  { value: "720", label: "Last 30 days" },
  { value: "2160", label: "Last 90 days" },
];
const PAGE = 200;
// The facts beside the timeline: facet → heading.
const FACTS = [
  ["country", "Countries"],
  ["ip", "Addresses"],
  ["application", "Applications"],
  ["operation", "Did most"],
];

/** The viewer's day of `iso` (UTC's with the UTC switch): its key and its heading. */
function dayOf(iso, utc) {
  const d = new Date(iso);
  const zone = utc ? { timeZone: "UTC" } : {};
  const key = d.toLocaleDateString("en-CA", zone); // YYYY-MM-DD
  const label = d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", ...zone });
  return { key, label };
}

export function timelinePage() {
  return {
    person: "",
    hours: "720",
    timelineRanges: RANGES,
    factList: FACTS,
    days: [], // [{ key, label, events }]
    totals: null,
    facts: null,
    timelineNext: null,
    timelineLoading: false,
    timelineSeq: 0,
    timelineWindow: null, // the range fixed when the timeline loads, so every page sees the same

    show(params) {
      this.person = (params.get("actor") || "").trim();
      const hours = params.get("hours");
      this.hours = RANGES.some((r) => r.value === hours) ? hours : "720";
      return this.loadTimeline();
    },
    urlQuery() { return this.person ? `actor=${encodeURIComponent(this.person)}&hours=${this.hours}` : ""; },

    /** The person's events over the range: the actor's whole name, so no one else's match. */
    filters() {
      const params = new URLSearchParams();
      params.set("actor", `"${this.person}"`);
      if (this.timelineWindow) {
        params.set("from", this.timelineWindow.from);
        params.set("to", this.timelineWindow.to);
      } else {
        params.set("hours", this.hours);
      }
      return params;
    },

    async loadTimeline() {
      const seq = ++this.timelineSeq;
      this.days = [];
      this.totals = null;
      this.facts = null;
      this.timelineNext = null;
      this.timelineLoading = false;
      session().error = null;
      if (!this.person) return;
      const now = new Date();
      this.timelineWindow = {
        from: new Date(now.getTime() - Number(this.hours) * 3600 * 1000).toISOString(),
        to: new Date(now.getTime() + 1000).toISOString(),
      };
      const filters = this.filters().toString();
      try {
        const [totals, facets] = await Promise.all([
          api("/api/events/aggregations?top=1&" + filters),
          api("/api/events/facets?fields=country,ip,application,operation&top=5&" + filters),
        ]);
        if (seq !== this.timelineSeq) return;
        this.totals = totals;
        this.facts = facets.facets;
      } catch (e) {
        if (seq === this.timelineSeq) this.fail(e);
        return;
      }
      await this.moreTimeline(seq);
    },

    /** The next events, latest first, added to their days. */
    async moreTimeline(seq = this.timelineSeq) {
      this.timelineLoading = true;
      try {
        const params = this.filters();
        params.set("page_size", String(PAGE));
        if (this.timelineNext) params.set("cursor", this.timelineNext);
        const page = await api("/api/events?" + params.toString());
        if (seq !== this.timelineSeq) return;
        const utc = session().utc;
        for (const event of page.items) {
          const { key, label } = dayOf(event.timestamp, utc);
          let day = this.days[this.days.length - 1];
          if (!day || day.key !== key) {
            day = { key, label, events: [] };
            this.days.push(day);
          }
          day.events.push(event);
        }
        this.timelineNext = page.next_cursor || null;
      } catch (e) {
        if (seq === this.timelineSeq) this.fail(e);
      } finally {
        if (seq === this.timelineSeq) this.timelineLoading = false;
      }
    },

    rangeChosen() {
      window.history.pushState({}, "", "/timeline?" + this.urlQuery());
      return this.loadTimeline();
    },

    /** The same events on the Events page, to filter further (the range as chosen). */
    asSearch() {
      const params = new URLSearchParams();
      params.set("actor", `"${this.person}"`);
      params.set("hours", this.hours);
      return navigate("/events?" + params.toString());
    },

    openEvent(event) { return eventPanel.open(event.id); },

    dayCount(day) { return `${day.events.length} event${day.events.length === 1 ? "" : "s"}`; },
    clock(iso) {
      const d = new Date(iso);
      const zone = session().utc ? { timeZone: "UTC" } : {};
      return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", ...zone });
    },
    factValues(name) { return (this.facts && this.facts[name]) || []; },
    factText(name, value) { return name === "country" ? value.toUpperCase() : value; },
    shownCount() { return this.days.reduce((n, d) => n + d.events.length, 0); },
    targetText,
    placeText(event) { return [event.client_ip, locationText(event)].filter((v) => v && v !== "—").join(" · "); },
    applicationOf,
  };
}
