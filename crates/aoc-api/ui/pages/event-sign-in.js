// The event panel's "Sign-in" facts, as the Entra admin center shows them: who, which
// application, which client, MFA and Conditional Access, risk, and the error code with its
// meaning. Read from the normalized details, and from the Graph record when the event was seen
// via Graph too (the unified log's record lacks risk and Conditional Access).

/** The Graph sign-in record among the event's own and its other paths' records, if any. */
function graphRecord(event) {
  const records = [event.raw, ...(event.also_seen_via || []).map((s) => s.raw)];
  return records.find((r) => r && typeof r === "object" && r.createdDateTime && r.status) || null;
}

function isSignIn(event) {
  return event.category === "SignIn" || ["UserLoggedIn", "UserLoginFailed"].includes(event.operation);
}

/** MFA, as far as the record tells it (Graph v1.0 has no MFA detail; its codes and text do). */
function mfaText(code, additional) {
  if (code === "500121") return "failed or denied";
  if (code === "50074" || code === "50076") return "required (interrupted)";
  if (additional && /mfa|strong authentication/i.test(additional)) return additional;
  return "";
}

/** `[{label, value, warn}]`, empty for an event that is not a sign-in. */
export function signInFacts(event) {
  if (!event || !isSignIn(event)) return [];
  const d = event.details || {};
  const graph = graphRecord(event) || {};
  const status = graph.status || {};
  const pick = (...values) => values.find((v) => v !== undefined && v !== null && v !== "") ?? "";
  const code = String(pick(d.errorCode, status.errorCode));
  const risk = pick(graph.riskLevelDuringSignIn, d.riskLevelDuringSignIn);
  const riskState = pick(graph.riskState, d.riskState);
  const riskTypes = (graph.riskEventTypes_v2 || graph.riskEventTypes || []).join(", ");
  const ca = pick(graph.conditionalAccessStatus, d.conditionalAccessStatus);
  const policies = (graph.appliedConditionalAccessPolicies || [])
    .filter((p) => p && p.displayName)
    .map((p) => `${p.displayName}: ${p.result || "?"}`)
    .join("; ") || d.conditionalAccessPolicies || "";
  const additional = pick(status.additionalDetails, d.additionalDetails);
  const app = pick(graph.appDisplayName, d.appDisplayName, d.applicationName);
  const appId = pick(graph.appId, d.appId, d.ApplicationId);
  const facts = [
    { label: "User", value: pick(graph.userDisplayName, event.actor && event.actor.display_name) + (event.actor && event.actor.upn ? ` (${event.actor.upn})` : "") },
    { label: "Application", value: app ? (appId ? `${app} (${appId})` : app) : appId },
    { label: "Resource", value: pick(graph.resourceDisplayName, d.resourceDisplayName) },
    { label: "Client app", value: pick(graph.clientAppUsed, d.clientAppUsed) },
    { label: "Device", value: [pick(d.operatingSystem, d.OS), pick(d.browser, d.BrowserType)].filter(Boolean).join(" · ") },
    { label: "MFA", value: mfaText(code, additional), warn: code === "500121" },
    { label: "Conditional Access", value: [ca, policies].filter(Boolean).join(" — "), warn: ca === "failure" || code === "53003" },
    { label: "Risk", value: risk ? [risk, riskState && riskState !== "none" ? riskState : "", riskTypes].filter(Boolean).join(" · ") : "", warn: ["high", "medium"].includes(risk) },
    { label: "Error code", value: code && code !== "0" ? (d.errorMeaning ? `${code}: ${d.errorMeaning}` : code) : (code === "0" ? "0 (success)" : ""), warn: !!code && code !== "0" },
    { label: "Details", value: typeof additional === "string" ? additional : "" },
  ];
  return facts.filter((f) => f.value);
}
