// The frame around the pages (`<body x-data="app">`): start-up and sign-in, the top bar (pages,
// Local time / UTC, theme, who is signed in), the local-mode and error banners, "No such page".
import { api } from "./api.js";
import { component, session } from "./session.js";
import * as signin from "./sign-in.js";
import * as router from "./router.js";

export function shell() {
  return component({
    // The session's state, read by the templates.
    get ready() { return session().ready; },
    get needsSignIn() { return session().needsSignIn; },
    get signedIn() { return session().signedIn; },
    get me() { return session().me; },
    get route() { return session().route; },
    get utc() { return session().utc; },
    get theme() { return session().theme; },
    get error() { return session().error; },

    async init() {
      const s = session();
      try {
        s.config = await api("/api/client-config", { anonymous: true });
        if (s.config.auth === "entra") {
          if (!s.config.sign_in || !s.config.sign_in.client_id) {
            s.needsSignIn = true;
            return;
          }
          const account = await signin.startSession(s.config.sign_in);
          if (!account) {
            s.needsSignIn = true;
            return;
          }
          s.signedIn = true;
        }
        s.me = await api("/api/me");
        s.ready = true;
        await router.visit();
      } catch (e) {
        // A token Entra ID gave but AOC refuses (another tenant, audience, expired): sign in again.
        if (signin.hasSession() && e.status === 401) s.needsSignIn = true;
        s.fail(e);
      }
    },

    // ---- Identity ----------------------------------------------------------------------------

    localMode() { const s = session(); return s.ready && s.config && s.config.auth === "off"; },
    canSignIn() { const c = session().config; return !!(c && c.sign_in && c.sign_in.client_id); },
    async signIn() {
      try { await signin.signIn(session().config.sign_in); } catch (e) { this.fail(e); }
    },
    async signOut() {
      try { await signin.signOut(); } catch (e) { this.fail(e); }
    },
    userName() { const me = session().me; return me ? (me.name || me.username || "Local user") : ""; },
    userTitle() { const me = session().me; return me ? `${me.username || me.object_id} · tenant ${me.tenant_id}` : ""; },
    rolesText() {
      const me = session().me;
      if (!me || !me.roles || me.roles.length === 0) return "no role";
      return me.roles[me.roles.length - 1];
    },

    // ---- Pages -------------------------------------------------------------------------------

    visiblePages() { return router.visiblePages(); },
    go(id) { return router.go(id); },
    onPopState() { return session().ready ? router.visit() : undefined; },

    // ---- Settings and the error banner -------------------------------------------------------

    themeClass() { return session().theme === "dark" ? "theme-dark" : "theme-light"; },
    toggleTheme() { session().toggleTheme(); },
    toggleUtc() { session().toggleUtc(); },
    dismissError() { session().error = null; },
  });
}
