// The tags in use, with how many events carry each (`GET /api/tags`): one list, in the store
// `$store.tags`, for the events page's Tag filter and the event panel's suggestions.
import { api } from "../core/api.js";

export const tagsStore = {
  list: [],
  async load() {
    try { this.list = await api("/api/tags"); } catch (e) { this.list = []; }
  },
};

export function tags() { return window.Alpine.store("tags"); }
