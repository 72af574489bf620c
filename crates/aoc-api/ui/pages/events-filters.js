// The events page's search as data: the filter form, what the URL carries
// (`/events?hours=24&service=Exchange&q=forwarding&event=<id>`) and the API's query string.
import { fromInputValue, toInputValue } from "../core/format.js";

export const PAGE_SIZE = 50;
// The event filters the URL carries, by their API names.
// Facets and chips can also leave a value out: `not_<filter>`.
export const EXCLUDABLE = ["service", "operation", "actor", "target", "application", "country", "source", "result"];
export const FILTERS = ["service", "operation", "actor", "target", "application", "ip", "country", "source", "result", "tag", "q",
  ...EXCLUDABLE.map((name) => "not_" + name)];
// How each filter is named on its chip.
export const FILTER_LABELS = {
  service: "Service", operation: "Operation", actor: "Actor", target: "Target", application: "Application", ip: "IP address",
  country: "Country", source: "Source", result: "Result", tag: "Tag", q: "Search",
};
for (const name of EXCLUDABLE) FILTER_LABELS["not_" + name] = "Not " + FILTER_LABELS[name].toLowerCase();

// The facets beside the results, by the filter their values go to.
export const FACETS = [
  { name: "operation", label: "Operation" },
  { name: "actor", label: "Actor" },
  { name: "service", label: "Service" },
  { name: "result", label: "Result" },
  { name: "country", label: "Country" },
  { name: "source", label: "Source" },
  { name: "ip", label: "IP address" },
  { name: "application", label: "Application" },
  { name: "target", label: "Target" },
];

/** A facet value as its filter takes it: names whole (in double quotes), the rest as they are. */
export function facetFilterValue(facet, value) {
  return ["result", "country", "ip"].includes(facet) ? value : `"${value}"`;
}
// Presets in whole hours are the API's `hours`; the named ones are the dashboard's own (`range=`).
export const RANGE_PRESETS = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1", label: "Last hour" },
  { value: "today", label: "Today" },
  { value: "yesterday", label: "Yesterday" },
  { value: "24", label: "Last 24 hours" },
  { value: "168", label: "Last 7 days" },
  { value: "720", label: "Last 30 days" },
  { value: "2160", label: "Last 90 days" },
  { value: "custom", label: "Custom range" },
];
export const DEFAULT_RANGE = "168";
const NAMED_RANGES = ["15m", "today", "yesterday"];
export const PAGE_SIZES = ["25", "50", "100", "200"];

export function emptyForm() {
  const form = { range: DEFAULT_RANGE, from: "", to: "", service: "", operation: "", actor: "", target: "", application: "", ip: "", country: "", source: "", result: "", tag: "", q: "", order: "newest", pageSize: "50" };
  for (const name of EXCLUDABLE) form["not_" + name] = "";
  return form;
}

/**
 * The search a URL's parameters hold: `form` (the form's values), `rawRange` (a custom range's
 * times exactly as the URL has them, kept until edited) and `openId` (the event to show).
 */
export function readFilters(params, utc) {
  const form = emptyForm();
  let rawRange = null;
  for (const name of FILTERS) form[name] = params.get(name) || "";
  if (params.get("from") || params.get("to")) {
    form.range = "custom";
    form.from = toInputValue(params.get("from"), utc) || params.get("from") || "";
    form.to = toInputValue(params.get("to"), utc) || params.get("to") || "";
    rawRange = { from: params.get("from") || "", to: params.get("to") || "" };
  } else if (NAMED_RANGES.includes(params.get("range"))) {
    form.range = params.get("range");
  } else {
    form.range = params.get("hours") || DEFAULT_RANGE;
  }
  if (params.get("order") === "oldest") form.order = "oldest";
  if (PAGE_SIZES.includes(params.get("page_size"))) form.pageSize = params.get("page_size");
  return { form, rawRange, openId: params.get("event") };
}

/**
 * The filters as a query string. `forUrl` keeps a preset relative (`hours=24`); otherwise a
 * preset is the search's fixed `window` ({ from, to }), so every page of it sees the same rows.
 */
export function filterQuery({ form, rawRange, window }, forUrl, utc) {
  const params = new URLSearchParams();
  if (typedTime(form.q)) {
    // The search box sets the time (`last:30d`, `time:yesterday`): the range selector stands
    // aside rather than narrowing it.
  } else if (form.range === "custom") {
    // Times read from the URL or a chart selection keep their precision until edited.
    const from = rawRange ? rawRange.from : fromInputValue(form.from, utc);
    const to = rawRange ? rawRange.to : fromInputValue(form.to, utc);
    if (from) params.set("from", from);
    if (to) params.set("to", to);
  } else if (forUrl) {
    params.set(NAMED_RANGES.includes(form.range) ? "range" : "hours", form.range);
  } else if (window) {
    params.set("from", window.from);
    params.set("to", window.to);
  }
  for (const name of FILTERS) {
    const value = (form[name] || "").trim();
    if (value) params.set(name, value);
  }
  if (form.order === "oldest") params.set("order", "oldest");
  if (forUrl && form.pageSize && form.pageSize !== "50") params.set("page_size", form.pageSize);
  return params.toString();
}

/** A preset range fixed to absolute times, from now; null for a custom range. "Today" and
 * "yesterday" are the viewer's days (UTC's with the UTC switch on). */
export function fixedWindow(range, utc) {
  if (range === "custom") return null;
  const now = new Date();
  const midnight = new Date(now);
  if (utc) midnight.setUTCHours(0, 0, 0, 0); else midnight.setHours(0, 0, 0, 0);
  const day = 24 * 3600 * 1000;
  const [from, to] = {
    "15m": [new Date(now.getTime() - 15 * 60 * 1000), now],
    today: [midnight, now],
    yesterday: [new Date(midnight.getTime() - day), midnight],
  }[range] || [new Date(now.getTime() - Number(range) * 3600 * 1000), now];
  return { from: from.toISOString(), to: to.toISOString() };
}

/** Every filter a search applies, as chips: `[{ name, label, value }]`. None is ever hidden. */
export function activeFilters(form) {
  return FILTERS.filter((name) => (form[name] || "").trim())
    .map((name) => ({ name, label: FILTER_LABELS[name], value: form[name].trim() }));
}

/** How many filters besides the search are set (the phone's "Filters (2 set)"). */
export function filtersSet(form) {
  return FILTERS.filter((name) => name !== "q" && (form[name] || "").trim()).length;
}

/** True when the query text names a time (`last:24h`, `after:…`, `time:…`, `time>=…`). */
export function typedTime(q) {
  return /(^|[\s(-])(time|after|since|from|before|until|to|last)(:|[<>])/i.test(q || "");
}

/** A query-language error (`at character 12: …`) as the query with a caret under the
 * character at fault; null when the error is not the search's. */
export function queryErrorOf(error, q) {
  const param = ((error && error.params) || []).find((p) => p.name === "q");
  const match = param && /^at character (\d+): (.*)$/s.exec(param.reason);
  // The API was sent the text trimmed, and counts characters (not UTF-16 units) in it.
  const text = (q || "").trim();
  if (!match || !text) return null;
  const chars = Array.from(text);
  const at = Math.max(1, Math.min(Number(match[1]), chars.length + 1));
  // Tabs and wide characters would shift the caret: spaces under each.
  const before = chars.slice(0, at - 1).map((c) => (c === "\t" ? "\t" : " ")).join("");
  return { text, caret: before + "^", message: match[2] };
}

/** The form's field filters written in the query language, with the search's own text after:
 * the same search, ready to be edited as text. */
export function formAsQuery(form) {
  // A value with a space or parenthesis goes in quotes: a whole name stays whole, and part of a
  // name stays a part (`"*Add member*"`).
  const quoted = (value) => {
    if (!/[\s()]/.test(value) || /^".*"$/.test(value)) return value;
    return value.includes("*") ? `"${value}"` : `"*${value}*"`;
  };
  const terms = [];
  for (const name of movable(form)) {
    const value = form[name].trim();
    const field = name.replace(/^not_/, "");
    terms.push(`${name.startsWith("not_") ? "-" : ""}${field}:${quoted(value)}`);
  }
  const q = (form.q || "").trim();
  if (q) terms.push(terms.length > 0 && /\bOR\b/.test(q) ? `(${q})` : q);
  return terms.join(" ");
}

/** The form's filters that can be written as query text: set, and without a double quote
 * inside (the language has no escape for one; such a value stays in its field). */
function movable(form) {
  return [...EXCLUDABLE, "ip", "tag", ...EXCLUDABLE.map((name) => "not_" + name)]
    .filter((name) => (form[name] || "").trim() && !/^.+".+$/.test(form[name].trim().replace(/^"(.*)"$/, "$1")));
}

/** The form with its field filters moved into the search box as query text. */
export function moveFiltersToQuery(form) {
  const names = movable(form);
  const moved = { ...form, q: formAsQuery(form) };
  for (const name of names) moved[name] = "";
  return moved;
}

// The table's columns besides the time, in order: which show is the viewer's choice (kept by
// the browser). Application and country come from the details and location lists carry.
export const COLUMNS = [
  { name: "service", label: "Service", shown: true },
  { name: "operation", label: "Operation", shown: true },
  { name: "actor", label: "Actor", shown: true },
  { name: "target", label: "Target", shown: true },
  { name: "application", label: "Application", shown: false },
  { name: "ip", label: "IP address", shown: true },
  { name: "country", label: "Country", shown: false },
  { name: "result", label: "Result", shown: true },
  { name: "source", label: "Source", shown: true },
];

/** The columns shown, `{ name: bool }`: the saved choice over the defaults. */
export function loadColumns() {
  let saved = {};
  try { saved = JSON.parse(window.localStorage.getItem("aoc.columns") || "{}") || {}; } catch (_) { saved = {}; }
  const shown = {};
  for (const c of COLUMNS) shown[c.name] = typeof saved[c.name] === "boolean" ? saved[c.name] : c.shown;
  return shown;
}

/** An event's application, as the table shows it. */
export function applicationOf(event) {
  const details = event.details || {};
  return details.appDisplayName || details.applicationName || "";
}
