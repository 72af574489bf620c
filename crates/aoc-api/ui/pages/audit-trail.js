// The Audit trail page (Admins): who used AOC and for what, filtered by actor (id, or part of a
// UPN or name), action (`events.export`, or a family: `events.*`) and outcome, newest first,
// paged with the API's cursor. The filters are in the URL (`/audit-trail?action=events.*`).
import { api } from "../core/api.js";

export function auditTrailPage() {
  return {
    auditForm: { actor: "", action: "", outcome: "" },
    audit: [],
    auditCursors: [null],
    auditPage: 0,
    auditNext: null,
    auditLoaded: false,

    /** A visit: the filters the URL holds. */
    show(params) {
      for (const name of Object.keys(this.auditForm)) this.auditForm[name] = (params && params.get(name)) || "";
      return this.loadAudit(true);
    },

    /** Apply: the filters become the URL, then the search. */
    applyAudit() {
      window.history.pushState({}, "", "/audit-trail" + (this.auditQuery() ? "?" + this.auditQuery() : ""));
      return this.loadAudit(true);
    },
    auditQuery() {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(this.auditForm)) if (v.trim()) params.set(k, v.trim());
      return params.toString();
    },
    urlQuery() { return this.auditQuery(); },

    /** What an entry's request asked for: a search's filters, a tag, a question… in one line. */
    detailsText(a) {
      const d = a.details;
      if (!d || typeof d !== "object") return "";
      const filters = d.filters && typeof d.filters === "object" ? d.filters : d;
      return Object.entries(filters)
        .filter(([, v]) => v !== null && v !== "" && typeof v !== "object")
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
    },

    async loadAudit(first) {
      if (first) { this.auditPage = 0; this.auditCursors = [null]; }
      const params = new URLSearchParams(this.auditQuery());
      const cursor = this.auditCursors[this.auditPage];
      if (cursor) params.set("cursor", cursor);
      try {
        const page = await api("/api/audit-trail?" + params.toString());
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
