// The public job API as the page uses it: POST /v1/jobs, then long-poll GET /v1/jobs/<id>?wait=N.
// A 401 asks the person for an API key (once, however many requests hit it), keeps it in
// localStorage and retries with `Authorization: Bearer <key>`.

const KEY_STORAGE = "ocrq.apiKey";
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
// The server only wakes a long-poll when a job ends, so a queued job is re-read often (to show
// "running") and a running one waits long.
const WAIT_QUEUED_S = 1;
const WAIT_RUNNING_S = 25;
const TRANSIENT_RETRIES = 8;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

let askForKey = async () => null; // replaced by the page: (rejectedBefore: boolean) => key | null
let pendingAsk = null;

export function setKeyPrompt(fn) {
  askForKey = fn;
}

export function storedKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
}

export function storeKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch { /* storage disabled: the key lives as long as the page */ }
  memoryKey = key || "";
}
let memoryKey = storedKey();

function currentKey() {
  return storedKey() || memoryKey;
}

/** One prompt for every request that hit a 401 at the same time. */
function promptOnce(rejectedBefore) {
  pendingAsk ??= Promise.resolve(askForKey(rejectedBefore)).finally(() => { pendingAsk = null; });
  return pendingAsk;
}

/** The response to one request with the API key (asked for on a 401); ApiError for any error answer. */
async function send(method, url, { body, signal, accept = "application/json" } = {}) {
  for (;;) {
    const key = currentKey();
    const headers = { Accept: accept };
    if (key) headers.Authorization = `Bearer ${key}`;
    let response;
    try {
      response = await fetch(url, { method, body, headers, signal, cache: "no-store" });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, "network_error", String(err));
    }
    if (response.status === 401) {
      if (currentKey() !== key) continue; // another request was given a new key meanwhile
      const entered = await promptOnce(Boolean(key));
      if (entered) { storeKey(entered); continue; }
    }
    if (!response.ok) {
      const error = (await response.json().catch(() => null))?.error ?? {};
      throw new ApiError(response.status, error.code || (response.status === 401 ? "unauthorized" : "unknown"),
        error.message || response.statusText);
    }
    return response;
  }
}

async function request(method, url, options = {}) {
  const response = await send(method, url, options);
  return response.json().catch(() => null);
}

/** A file the API serves (a page image, the result as text, hOCR, ALTO or PDF) as a Blob. */
export async function fetchBlob(url, signal) {
  return (await send("GET", url, { signal, accept: "*/*" })).blob();
}

/** Submit one image; resolves to the 202 body ({job_id, status, links.self}). */
export function submitJob(file, enhance, signal) {
  const form = new FormData();
  form.append("image", file, file.name);
  form.append("enhance", enhance);
  return request("POST", "/v1/jobs", { body: form, signal });
}

/**
 * Follow a job until it ends, calling onUpdate(doc) with every new reading; resolves to the last one.
 * Transient failures (network, 502-504) are retried a few times with a pause before giving up.
 */
export async function watchJob(selfUrl, onUpdate, signal) {
  let doc = null;
  let failures = 0;
  while (!doc || !TERMINAL.has(doc.status)) {
    const wait = !doc || doc.status === "queued" ? WAIT_QUEUED_S : WAIT_RUNNING_S;
    try {
      doc = await request("GET", `${selfUrl}?wait=${wait}`, { signal });
      failures = 0;
    } catch (err) {
      const transient = err instanceof ApiError && (err.status === 0 || err.status >= 502);
      if (!transient || ++failures > TRANSIENT_RETRIES) throw err;
      await sleep(1000 * Math.min(failures, 5), signal);
      continue;
    }
    onUpdate(doc);
  }
  return doc;
}

export function cancelJob(selfUrl) {
  return request("DELETE", selfUrl);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

/** At most `n` tasks at once: a browser keeps ~6 connections per host and long-polls hold one each. */
export function limiter(n) {
  let active = 0;
  const waiting = [];
  return async (task) => {
    if (active >= n) await new Promise((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next(); // hand the slot over directly
      else active -= 1;
    }
  };
}
