// The client of AOC's JSON API: one fetch wrapper that sends the bearer token (when sign-in is
// on) and turns a refusal (application/problem+json) into an ApiError in words a person can act on.

// Plain names for the API's parameters, for error messages.
const PARAM_LABELS = {
  ip: "IP address", q: "Search", from: "From", to: "To", hours: "Time range",
  operation: "Operation", actor: "Actor", service: "Service", result: "Result",
  tag: "Tag", target: "Target", cursor: "Page", page_size: "Page size", country: "Country",
  source: "Source", body: "Comment", question: "Question", fields: "Break down",
  not_operation: "Not operation", not_actor: "Not actor", not_service: "Not service",
  application: "Application", not_application: "Not application",
  not_target: "Not target", not_country: "Not country", not_source: "Not source", not_result: "Not result",
};

/** An API answer that was not a success, in words a person can act on. */
export class ApiError extends Error {
  constructor(title, message, requestId, status, params = []) {
    super(message);
    this.title = title;
    this.requestId = requestId;
    this.status = status;
    this.params = params; // the problem's invalid_params: [{ name, reason }]
  }
}

export function describeProblem(problem, status, method = "GET") {
  if (problem && Array.isArray(problem.invalid_params) && problem.invalid_params.length > 0) {
    const parts = problem.invalid_params.map((p) => `${PARAM_LABELS[p.name] || p.name} (${p.name}): ${p.reason}`);
    // A search's parameters are its filters; what a change sends (a tag, a comment) is a value.
    const what = method === "GET" ? "That filter is not valid." : "That value is not valid.";
    return [what, parts.join("; ")];
  }
  if (status === 401) return ["You are signed out.", "Sign in again to continue."];
  if (status === 403) return ["Not allowed.", (problem && problem.detail) || "Your roles do not allow this."];
  if (status === 429) return ["Too many requests.", (problem && problem.detail) || "Wait a minute and try again."];
  if (problem && problem.title) return [problem.title + ".", problem.detail || ""];
  if (status >= 500) return ["AOC had a problem.", "The server could not answer; try again, and check its log."];
  return ["Request failed.", `The server answered ${status}.`];
}

// Where the access token comes from once sign-in has started (core/sign-in.js); none in local mode.
let tokenSource = null;

/** `source()` resolves to an access token, or null when MSAL is redirecting to sign in again. */
export function useToken(source) { tokenSource = source; }

/**
 * `api(path, { method, body, anonymous, response })`: the answer's JSON (null for 204), or the
 * Response itself with `response: true` (a download). Throws an ApiError.
 */
export async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (tokenSource && !options.anonymous) {
    const token = await tokenSource();
    if (token) headers.Authorization = "Bearer " + token;
  }
  let response;
  try {
    response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (e) {
    throw new ApiError("AOC cannot be reached.", "Check that the server is running and your network.", null, 0);
  }
  const requestId = response.headers.get("x-request-id");
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch (_) { /* not JSON */ }
    const [title, message] = describeProblem(problem, response.status, options.method || "GET");
    const params = problem && Array.isArray(problem.invalid_params) ? problem.invalid_params : [];
    throw new ApiError(title, message, requestId, response.status, params);
  }
  if (options.response) return response;
  if (response.status === 204) return null;
  return response.json();
}
