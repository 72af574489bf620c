// Routing by path (`/events`, `/sources`, …; the server answers each with index.html): which page
// a URL shows, moving between pages with the History API, and Back / Forward. The pages come from
// pages.js (handed over by app.js); each page's component attaches itself when Alpine makes it,
// and its `show(params)` runs on every visit, with the URL's query parameters.
import { session } from "./session.js";

let pages = [];
const views = {}; // page id → its component, once Alpine has made it
const visitHooks = [];

export function usePages(list) { pages = list; }

/** Called by a page's component from its init: it shows when its page is visited. */
export function attach(id, view) { views[id] = view; }

/** `fn()` runs at the start of every visit, before the page shows (the event panel closes). */
export function onVisit(fn) { visitHooks.push(fn); }

/** A page shows when it has a component and the server has on the feature it needs, if any. */
export function pageOn(page) { return !!page.component && (!page.when || session().feature(page.when)); }

/** The pages the navigation lists for this user. */
export function visiblePages() { return pages.filter((p) => pageOn(p) && p.listed !== false && session().hasRole(p.role)); }

export function routeOf(pathname) {
  if (pathname === "/" || pathname === "") return pages[0].id;
  const page = pages.find((p) => p.path === pathname && pageOn(p));
  return page ? page.id : "not-found";
}

/** Shows the page the browser's URL names: the error banner and the event panel close, the
 * page reads its parameters and loads. */
export async function visit() {
  const s = session();
  s.route = routeOf(window.location.pathname);
  s.error = null;
  for (const hook of visitHooks) hook();
  const view = views[s.route];
  if (view && view.show) await view.show(new URLSearchParams(window.location.search));
}

/** Goes to `url` (a path and query of this app), as a new entry in the browser's history. */
export async function navigate(url) {
  window.history.pushState({}, "", url);
  await visit();
}

/** Goes to a page by its id; a page that keeps state in its URL (`urlQuery()`) gets it back. */
export async function go(id) {
  const page = pages.find((p) => p.id === id);
  if (!page) return;
  const view = views[id];
  const query = view && view.urlQuery ? view.urlQuery() : "";
  await navigate(page.path + (query ? "?" + query : ""));
}
