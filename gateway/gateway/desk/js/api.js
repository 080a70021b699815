// The public HTTP API of the gateway (same origin), called with the pro's bearer token.

/** The network is down (or the gateway unreachable): the page switches to offline mode. */
export class NetworkDown extends Error {}

/** An RFC 9457 problem answered by the API: `code` is its stable machine code. */
export class Problem extends Error {
  constructor(status, body, headers) {
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || String(status);
    this.body = body;
    this.retryAfter = Number(headers.get("retry-after") || body.retry_after_seconds || 0);
  }
}

export async function call(method, path, { token, body } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new NetworkDown(String(error));
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Problem(response.status, data, response.headers);
  return data;
}

/** Every item of a paginated list. */
export async function all(path, token) {
  const items = [];
  let pageToken = "";
  do {
    const query = new URLSearchParams({ page_size: "500" });
    if (pageToken) query.set("page_token", pageToken);
    const page = await call("GET", `${path}?${query}`, { token });
    items.push(...page.items);
    pageToken = page.next_page_token || "";
  } while (pageToken);
  return items;
}

export const countermarkPath = (typed) => `/v1/pro/countermarks/${encodeURIComponent(typed)}`;
