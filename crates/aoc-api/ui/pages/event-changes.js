// The event panel's "What changed" list, from the changes AOC read from the record.

/** A Graph `oldValue` is often JSON text (`"[\"Global Administrator\"]"`): shown plainly. */
export function plainValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  let v = value;
  if (typeof v === "string") {
    const t = v.trim();
    if ((t.startsWith("[") || t.startsWith("{") || t.startsWith('"')) && t.length > 1) {
      try { v = JSON.parse(t); } catch (_) { return value; }
    } else {
      return value;
    }
  }
  if (Array.isArray(v)) return v.length === 0 ? "—" : v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ");
  if (typeof v === "string") return v === "" ? "—" : v;
  return JSON.stringify(v);
}

/** The "what changed" list of an event: the changes AOC read from its record (Graph's and
 * Intune's `modifiedProperties`, the unified audit log's `ModifiedProperties`, an Exchange
 * cmdlet's `Parameters`), old value first. */
export function changesOf(event) {
  return Object.entries((event && event.changes) || {}).map(([name, c]) => ({
    name,
    old: plainValue(c && c.old),
    new: plainValue(c && c.new),
  }));
}
