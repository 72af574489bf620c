// The event panel's "What changed" list, read from the raw record as Microsoft sent it.

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

/** The "what changed" list of a raw record: Graph's and Intune's `modifiedProperties`, the
 * unified audit log's `ModifiedProperties`, wherever they sit. */
export function changesOf(raw) {
  const out = [];
  const seen = new Set();
  const walk = (node, depth) => {
    if (!node || typeof node !== "object" || depth > 6) return;
    if (Array.isArray(node)) { node.forEach((n) => walk(n, depth + 1)); return; }
    for (const [key, value] of Object.entries(node)) {
      if ((key === "modifiedProperties" || key === "ModifiedProperties") && Array.isArray(value)) {
        for (const p of value) {
          if (!p || typeof p !== "object") continue;
          const name = p.displayName ?? p.Name ?? p.name ?? "";
          const change = { name: String(name), old: plainValue(p.oldValue ?? p.OldValue), new: plainValue(p.newValue ?? p.NewValue) };
          const key2 = change.name + "\u0000" + change.old + "\u0000" + change.new;
          if (!seen.has(key2)) { seen.add(key2); out.push(change); }
        }
      } else if (typeof value === "object") {
        walk(value, depth + 1);
      }
    }
  };
  walk(raw, 0);
  return out;
}
