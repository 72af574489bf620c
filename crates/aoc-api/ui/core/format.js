// Formatting for the dashboard: times (in the viewer's zone or UTC), numbers, durations, and the
// names of actors, targets and authors. Plain functions with no state; `utc` is the page's
// Local time / UTC switch, passed in by the caller.

const pad = (n) => String(n).padStart(2, "0");

/** `2026-11-27T10:15:42.123Z` → `2026-11-27 11:15:42` (local) or `… 10:15:42 UTC`. */
export function fmtTime(iso, utc) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  if (utc) {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago `iso` was, from `now` (ms): `just now`, `12 min ago`, `3 h ago`, `2 d ago`;
 * past a month, the date. */
export function relativeTime(iso, now, utc) {
  if (!iso) return "—";
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return String(iso);
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 0) return fmtTime(iso, utc);
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60 ? (minutes % 60) + " min " : ""}ago`;
  const days = Math.floor(hours / 24);
  if (days <= 31) return `${days} d ago`;
  return fmtTime(iso, utc).slice(0, 10);
}

/** The exact time as the API sent it, for a tooltip. */
export function utcTitle(iso) { return iso ? String(iso) : ""; }

/** `2026-11-27T10:15:42.123Z` → a datetime-local value in the viewer's zone (or UTC). */
export function toInputValue(iso, utc) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  if (utc) return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value → an ISO time (kept as typed when it is not a time). */
export function fromInputValue(value, utc) {
  if (!value) return "";
  const d = utc ? new Date(value + ":00Z") : new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

export function humanDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function ago(iso) {
  if (!iso) return "never";
  return humanDuration((Date.now() - new Date(iso).getTime()) / 1000) + " ago";
}

export function num(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(); }

/** Who did it, short (a table cell) and in full (the event panel). */
export function actorText(e) {
  const a = e.actor || {};
  return a.upn || a.display_name || a.name || a.id || "—";
}

export function actorFull(e) {
  const a = e.actor || {};
  const parts = [a.display_name || a.name, a.upn, a.kind ? `(${a.kind})` : null, a.id && a.id !== a.upn ? a.id : null];
  return parts.filter(Boolean).join(" · ") || "—";
}

/** Every collection path that delivered the event: its own, then the others (one sign-in read
 * from Graph and from the unified audit log is one event seen via both). */
export function seenVia(e) {
  return [e.source, ...(e.also_seen_via || []).map((s) => s.source)].filter(Boolean);
}

/** The source column: the first path, and how many more. */
export function sourceText(e) {
  const all = seenVia(e);
  return all.length > 1 ? `${all[0]} +${all.length - 1}` : (all[0] || "");
}

/** What it was done to: the first target and how many more, or one target in full. */
export function targetText(e) {
  const t = (e.targets || [])[0];
  if (!t) return "";
  const more = e.targets.length > 1 ? ` +${e.targets.length - 1}` : "";
  return (t.name || t.id || "") + more;
}

export function targetFull(t) { return [t.kind, t.name, t.id && t.id !== t.name ? t.id : null].filter(Boolean).join(" · "); }

export function locationText(e) {
  const l = e.location || {};
  return [l.city, l.state, l.country].filter(Boolean).join(", ") || "—";
}

/** An AOC user (a comment's author, an audit trail entry's actor). */
export function authorText(a) { return a ? (a.name || a.id) : "—"; }
