// AOC's web dashboard: Alpine.js (its CSP build: no eval, so the page runs under a strict
// Content-Security-Policy) and ES modules, with no build step. Everything it shows comes from
// AOC's own JSON API. This module only wires the parts together; index.html loads it before
// Alpine (module scripts run in document order with deferred ones), so on alpine:init, before
// Alpine walks the page, the stores and every component are registered.
//
//   core/     api.js (the API client), sign-in.js (MSAL), session.js (the shared store),
//             router.js (paths and history), format.js (times, numbers, names), shell.js (the frame)
//   pages.js  the pages registry; pages/ holds one component per page, and the event panel
import { PAGES } from "./pages.js";
import { attach, usePages } from "./core/router.js";
import { component, session, sessionStore } from "./core/session.js";
import { shell } from "./core/shell.js";
import { eventPanelComponent } from "./pages/event-panel.js";
import { tagsStore } from "./pages/event-tags.js";

usePages(PAGES);

/** A page's component: its own state and methods, the session helpers, `shown()`, and attached
 * to the router when Alpine makes it. */
function pageComponent(page) {
  return () => {
    const own = page.component();
    return component(own, {
      shown() { const s = session(); return s.ready && s.route === page.id; },
      init() {
        attach(page.id, this);
        return own.init ? own.init.call(this) : undefined;
      },
    });
  };
}

document.addEventListener("alpine:init", () => {
  const Alpine = window.Alpine;
  Alpine.store("session", sessionStore);
  Alpine.store("tags", tagsStore);
  Alpine.data("app", shell);
  Alpine.data("eventPanel", eventPanelComponent);
  for (const page of PAGES) {
    if (page.component) Alpine.data(page.component.name, pageComponent(page));
  }
});
