// The event panel (`<aside x-data="eventPanel">`): one event's fields, what changed, Explain,
// tags, comments and the raw record. Beside the events table, a full screen on a phone; the
// Events and Ask pages open it through `eventPanel.open(id)`. Every visit to a page closes it.
import { api } from "../core/api.js";
import { actorFull, locationText, seenVia, targetFull } from "../core/format.js";
import { component, session } from "../core/session.js";
import { navigate, onVisit } from "../core/router.js";
import { changesOf } from "./event-changes.js";
import { signInFacts } from "./event-sign-in.js";
import { tags } from "./event-tags.js";

// The panel's component, once Alpine has made it.
let panel = null;

/** What the pages call. */
export const eventPanel = {
  /** Shows event `id`; with `remember`, the URL names it too (`&event=<id>`). */
  open(id, remember) { return panel ? panel.openEvent(id, remember) : Promise.resolve(); },
  /** Hides the panel and drops any event load still on its way. */
  hide() { if (panel) panel.hide(); },
};

function emptyDetail() {
  return { event: { id: "", operation: "", raw: null, targets: [], actor: {} }, tags: [], comments: [] };
}

export function eventPanelComponent() {
  return component({
    // `detail` keeps the last event shown (never null: the panel's bindings stay valid while it
    // closes); `panelOpen` says whether it is shown.
    detail: emptyDetail(),
    panelOpen: false,
    openSeq: 0,
    changes: [],
    signIn: [],
    newTag: "",
    newComment: "",
    copied: false,
    explaining: false,
    explanation: null,

    get tags() { return tags().list; },

    init() {
      panel = this;
      onVisit(() => this.hide());
      // The page makes room for the panel beside it (see app.css).
      this.$watch("panelOpen", (open) => {
        document.body.classList.toggle("panel-open", open);
        // The chart follows the page's new width, once the page has taken it.
        requestAnimationFrame(() => window.dispatchEvent(new Event("resize")));
      });
    },

    async openEvent(id, remember) {
      // Arrowing through rows starts a load per row: only the newest may open the panel, and
      // closing it discards any still on their way.
      const seq = ++this.openSeq;
      try {
        // The API answers the event itself, with its tags and comments beside its fields.
        const event = await api("/api/events/" + encodeURIComponent(id));
        if (seq !== this.openSeq) return;
        this.detail = { event, tags: event.tags || [], comments: event.comments || [] };
        this.changes = changesOf(event);
        this.signIn = signInFacts(event);
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

    hide() {
      this.openSeq += 1;
      this.panelOpen = false;
    },

    closeDetail() {
      this.hide();
      const params = new URLSearchParams(window.location.search);
      if (params.has("event")) {
        params.delete("event");
        window.history.replaceState({}, "", "/events" + (params.toString() ? "?" + params.toString() : ""));
      }
    },

    /** Esc closes the panel, wherever the focus is. */
    onKey(e) {
      if (e.key === "Escape" && this.panelOpen) {
        this.closeDetail();
        e.preventDefault();
      }
    },

    // ---- Pivots: from this event to the others like it --------------------------------------

    pivotValue(kind) {
      const e = this.detail.event;
      if (kind === "actor") return e.actor && (e.actor.upn || e.actor.id);
      if (kind === "ip") return e.client_ip;
      if (kind === "target") { const t = (e.targets || [])[0]; return t && (t.id || t.name); }
      return null;
    },
    pivotable(kind) { return !!this.pivotValue(kind); },
    /** Everything by this actor / from this address / on this target, over the last 30 days;
     * or every event within five minutes of this one, by the same actor when it has one. */
    pivot(kind) {
      const e = this.detail.event;
      const params = new URLSearchParams();
      if (kind === "around") {
        const at = new Date(e.timestamp).getTime();
        params.set("from", new Date(at - 5 * 60 * 1000).toISOString());
        params.set("to", new Date(at + 5 * 60 * 1000).toISOString());
        const actor = this.pivotValue("actor");
        if (actor) params.set("actor", `"${actor}"`);
      } else {
        params.set("hours", "720");
        const value = this.pivotValue(kind);
        params.set(kind, kind === "ip" ? value : `"${value}"`);
      }
      params.set("event", e.id);
      return navigate("/events?" + params.toString());
    },

    /** The actor's timeline over the last 30 days. */
    timeline() {
      return navigate(`/timeline?actor=${encodeURIComponent(this.pivotValue("actor"))}&hours=720`);
    },

    actorFull,
    seenVia,
    targetFull,
    locationText,

    // ---- Explain -------------------------------------------------------------------------------

    canExplain() { return session().feature("ai_features") && this.hasRole("analyst"); },
    async explainEvent() {
      if (!this.panelOpen || this.explaining) return;
      const id = this.detail.event.id;
      this.explaining = true;
      try {
        const answer = await api(`/api/events/${encodeURIComponent(id)}/explain`, { method: "POST" });
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

    // ---- The raw record ------------------------------------------------------------------------

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

    // ---- Tags and comments ---------------------------------------------------------------------

    async refreshDetail() {
      if (this.panelOpen) await this.openEvent(this.detail.event.id);
      await tags().load();
    },

    async addTag() {
      const tag = this.newTag.trim();
      if (!tag || !this.panelOpen) return;
      try {
        await api(`/api/events/${encodeURIComponent(this.detail.event.id)}/tags`, { method: "POST", body: { tag } });
        this.newTag = "";
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    async removeTag(tag) {
      try {
        await api(`/api/events/${encodeURIComponent(this.detail.event.id)}/tags/${encodeURIComponent(tag)}`, { method: "DELETE" });
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    async addComment() {
      const body = this.newComment.trim();
      if (!body || !this.panelOpen) return;
      try {
        await api(`/api/events/${encodeURIComponent(this.detail.event.id)}/comments`, { method: "POST", body: { body } });
        this.newComment = "";
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },

    canDeleteComment(c) {
      const me = session().me;
      if (!me || !this.hasRole("analyst")) return false;
      return this.hasRole("admin") || (c.author && c.author.id === me.object_id);
    },

    async deleteComment(c) {
      if (!window.confirm("Delete this comment?")) return;
      try {
        await api(`/api/comments/${encodeURIComponent(c.id)}`, { method: "DELETE" });
        await this.refreshDetail();
      } catch (e) { this.fail(e); }
    },
  });
}
