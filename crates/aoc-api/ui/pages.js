// The dashboard's pages, in the order the navigation lists them: the one place that names them.
// Adding a page is a module under pages/ exporting its Alpine component, its line here, and its
// <section x-data="…" x-show="shown()"> in index.html (docs/dashboard.md, "Adding a page").
//
//   id         the page's name: `$store.session.route`, and the link's `nav [data-page=<id>]`
//   path       its URL (the server answers every path without an extension with index.html)
//   title      the navigation's label
//   role       the least role that sees it: reader, analyst or admin
//   when       optional: a feature the server must have on (`/api/client-config`), e.g. ai_features
//   listed     optional: false for a page reached from another (a person's timeline), not the
//              navigation
//   component  its Alpine component, registered under the function's name (the section's x-data);
//              a planned page has none: it is not listed and its path says "No such page"
//
// A component may have `show(params)`, run on every visit with the URL's query parameters, and
// `urlQuery()`, the query string to come back to; it gets `shown()` and the session helpers.
import { askPage } from "./pages/ask.js";
import { auditTrailPage } from "./pages/audit-trail.js";
import { eventsPage } from "./pages/events.js";
import { sourcesPage } from "./pages/sources.js";
import { timelinePage } from "./pages/timeline.js";

export const PAGES = [
  { id: "events", path: "/events", title: "Events", role: "reader", component: eventsPage },
  { id: "sources", path: "/sources", title: "Sources", role: "reader", component: sourcesPage },
  { id: "alerts", path: "/alerts", title: "Alerts", role: "reader", component: null },
  { id: "analytics", path: "/analytics", title: "Analytics", role: "reader", component: null },
  { id: "ask", path: "/ask", title: "Ask", role: "analyst", when: "ai_features", component: askPage },
  { id: "audit-trail", path: "/audit-trail", title: "Audit trail", role: "admin", component: auditTrailPage },
  { id: "timeline", path: "/timeline", title: "Timeline", role: "reader", listed: false, component: timelinePage },
];
