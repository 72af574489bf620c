// Saved searches on the events page: the person's own and the shared ones in a list that opens
// them, and a form that saves the search shown (its URL: filters, range, order, rows).
import { api } from "../core/api.js";
import { session } from "../core/session.js";

export function savedSearches() {
  return {
    saved: [], // GET /api/saved-searches
    savedId: "", // the one chosen in the list
    savingOpen: false,
    saveName: "",
    saveShared: false,

    async loadSaved() {
      try {
        this.saved = await api("/api/saved-searches");
      } catch (_) {
        this.saved = [];
      }
    },
    savedLabel(s) { return s.shared ? `${s.name} (shared by ${s.owner.name || s.owner.id})` : s.name; },
    /** Opens a saved search: its query becomes the URL, and the page searches it. */
    async openSaved(id) {
      this.savedId = id;
      const search = this.saved.find((s) => s.id === id);
      if (!search) return;
      window.history.pushState({}, "", "/events?" + search.query);
      await this.show(new URLSearchParams(search.query));
    },
    canDeleteSaved() {
      const search = this.saved.find((s) => s.id === this.savedId);
      const me = session().me;
      return !!search && !!me && (this.hasRole("admin") || search.owner.id === me.object_id);
    },
    async deleteSaved() {
      try {
        await api("/api/saved-searches/" + encodeURIComponent(this.savedId), { method: "DELETE" });
        this.savedId = "";
        await this.loadSaved();
      } catch (e) {
        this.fail(e);
      }
    },
    toggleSaving() { this.savingOpen = !this.savingOpen; },
    /** Saves the search shown, as its URL has it: a preset range stays relative. */
    async saveSearch() {
      try {
        const body = { name: this.saveName, query: this.urlQuery(), shared: this.saveShared };
        const saved = await api("/api/saved-searches", { method: "POST", body });
        this.savingOpen = false;
        this.saveName = "";
        this.saveShared = false;
        await this.loadSaved();
        this.savedId = saved.id;
      } catch (e) {
        this.fail(e);
      }
    },
  };
}
