// Calls to gridd's JSON API with the session cookie. Errors carry the
// server's one-line message (the API's {"error": {"code", "message"}}).
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw new APIError(res.status, data?.error?.code || 'error', data?.error?.message || res.statusText);
  }
  return data;
}

// actorOf is how the server names the signed-in principal in requests and
// the audit log (geo.Principal.Actor): tokens as "token:NAME".
export function actorOf(me) {
  return me?.kind === 'token' ? 'token:' + me.name : me?.name;
}
