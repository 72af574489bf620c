// The Audit trail page (Admins): who used AOC and for what, filtered by actor, action and
// outcome, newest first, paged with the API's cursor.
import { api } from "../core/api.js";

export function auditTrailPage() {
  return {
    auditForm: { actor: "", action: "", outcome: "" },
    audit: [],
    auditCursors: [null],
    auditPage: 0,
    auditNext: null,
    auditLoaded: false,

    show() { return this.loadAudit(true); },

    async loadAudit(first) {
      if (first) { this.auditPage = 0; this.auditCursors = [null]; }
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(this.auditForm)) if (v.trim()) params.set(k, v.trim());
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
