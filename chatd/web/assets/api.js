// The page's one door to chatd: the API base (same origin by default, `?api=` for a
// chatd elsewhere), JSON requests, and errors turned into sentences a person can act on.

/** The API base URL, without a trailing slash. */
export const API_BASE = (() => {
  const given = new URLSearchParams(location.search).get('api');
  if (given) {
    try {
      const url = new URL(given, location.href);
      if (url.protocol === 'http:' || url.protocol === 'https:') {
        return url.href.replace(/\/+$/, '');
      }
    } catch {
      // Not a URL: fall back to this page's own chatd.
    }
  }
  return `${location.origin}/api/v1`;
})();

/** An error with words for the person: `kind` is 'network' (chatd unreachable) or 'http'. */
export class ApiError extends Error {
  constructor(kind, message, status = 0, detail = null) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.detail = detail;
  }
}

export function unreachable() {
  return new ApiError('network',
    `chatd is not answering at ${API_BASE}: is the daemon running? Start it with "chatd" (or "cargo run -p chatd").`);
}

/** A 422's list of problems, or a plain detail, as one line. */
function detailText(detail) {
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== 'body').join('.') : '';
      return where ? `${where}: ${item.msg}` : String(item.msg);
    }).join('; ');
  }
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

/** The sentence shown for an error answer of chatd. */
export function describe(status, detail) {
  const text = detailText(detail);
  if (status === 502 || status === 504) return `The model provider failed: ${text}`;
  if (status === 507) return `chatd's storage is full: ${text}`;
  if (status === 503) return `chatd cannot do this right now: ${text}`;
  if (status === 401) return 'chatd wants a token (it listens beyond loopback); this page cannot send one.';
  if (status === 403) return `chatd refused this page: ${text}`;
  if (status >= 500) return `chatd failed (HTTP ${status}): ${text}`;
  return text || `HTTP ${status}`;
}

/** An error answer as an ApiError. */
export async function errorOf(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = `${response.status} ${response.statusText}`;
  }
  return new ApiError('http', describe(response.status, detail), response.status, detail);
}

/** `fetch` on the API that throws an ApiError('network') when chatd cannot be reached. */
export async function raw(method, path, body, signal) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(API_BASE + path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw unreachable();
  }
}

/** A JSON request: the parsed answer (null for 204), or an ApiError. */
export async function call(method, path, body) {
  const response = await raw(method, path, body);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    throw unreachable();
  }
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);
