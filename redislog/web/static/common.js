// What every page shares: the API, building elements from data (as text only),
// level colours as the terminal shows them, a stable colour per log key.
//
// Record content only ever reaches the page through textContent, createTextNode
// or setAttribute on attributes that are not URLs or handlers: nothing here
// parses data as HTML (the pages' CSP requires Trusted Types for that, and no
// policy exists).

export const FILTERS = ["level", "logger", "grep", "exclude", "field", "since", "until"];

/** The session's CSRF token (sent with every state-changing request). */
export function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Back to the sign-in page, which returns here. */
export function signIn() {
  const here = location.pathname + location.search;
  location.assign("/signin?next=" + encodeURIComponent(here));
}

/** GET an API path (with the session cookie); its JSON, or an ApiError. */
export async function api(path, params) {
  const query = params && String(params) ? "?" + params : "";
  const response = await fetch(path + query, {
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
  });
  if (response.status === 401) {
    signIn();
    throw new ApiError(401, "signed out");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === "string" ? body.error : response.statusText;
    throw new ApiError(response.status, message);
  }
  return body;
}

/** The API path of one log key (any characters, encoded). */
export function keyPath(key, tail) {
  return "/api/logs/" + encodeURIComponent(key) + "/" + tail;
}

/**
 * A new element: `cls` its class, `text` its text (as a text node), `attrs`
 * plain attributes (never an event handler, never a URL built from data
 * without URLSearchParams).
 */
export function el(tag, cls, text, attrs) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) {
    const string = String(text);
    CONTROL.lastIndex = 0;
    if (CONTROL.test(string)) node.append(visible(string));
    else node.textContent = string; // the common case: one text node
  }
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  }
  return node;
}

// Control characters, DEL, C1, bidi overrides and isolates, zero-width
// joiners' cousins that hide text, and the line/paragraph separators.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function escape(ch) {
  const code = ch.codePointAt(0);
  if (code < 0x100) return "\\x" + code.toString(16).padStart(2, "0");
  return "\\u" + code.toString(16).padStart(4, "0");
}

/**
 * Text as nodes, with every control or bidi character shown as a dim escape
 * (`\x1b`, `\u202e`) instead of acting on the page: a fragment of text nodes
 * and spans.
 */
export function visible(text) {
  const fragment = document.createDocumentFragment();
  CONTROL.lastIndex = 0;
  let at = 0;
  let match;
  while ((match = CONTROL.exec(text)) !== null) {
    if (match.index > at) fragment.append(document.createTextNode(text.slice(at, match.index)));
    const span = document.createElement("span");
    span.className = "esc";
    span.textContent = escape(match[0]);
    fragment.append(span);
    at = match.index + match[0].length;
  }
  if (at < text.length) fragment.append(document.createTextNode(text.slice(at)));
  return fragment;
}

const LEVELS = [
  [5, "trace"], [10, "debug"], [20, "info"], [25, "notice"], [30, "warning"],
  [40, "error"], [50, "critical"], [55, "alert"], [60, "emergency"],
];
const NAMES = {
  trace: 5, debug: 10, info: 20, notice: 25, warning: 30, warn: 30, error: 40, err: 40,
  critical: 50, crit: 50, fatal: 50, alert: 55, emergency: 60,
};
const SHORT = { WARNING: "WARN", CRITICAL: "CRIT", EMERGENCY: "EMERG" };

/** The colour key of a level number (as `levels.color_key`). */
export function levelKey(levelno) {
  if (typeof levelno !== "number") return "none";
  let key = "trace";
  for (const [number, name] of LEVELS) if (levelno >= number) key = name;
  return key;
}

/** A record's level number (from `levelno`, else its level's name). */
export function levelnoOf(record) {
  if (typeof record.levelno === "number") return record.levelno;
  if (typeof record.level === "string") return NAMES[record.level.toLowerCase()];
  return undefined;
}

/** The five-wide level label the terminal shows. */
export function levelLabel(record) {
  const name = typeof record.level === "string" ? record.level.toUpperCase() : "";
  return SHORT[name] || name || "-";
}

/** The colour key of a stats label (`ERROR`, `LEVEL 42`, `none`). */
export function labelKey(label) {
  const lower = label.toLowerCase();
  if (lower in NAMES) return levelKey(NAMES[lower]);
  const number = Number(lower.replace(/^level /, ""));
  return Number.isFinite(number) && lower.startsWith("level ") ? levelKey(number) : "none";
}

/** A stable colour class (`k0`..`k7`) for a log key. */
export function keyClass(key) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // Mixed (murmur3's finalizer): names that differ only at the end spread too.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return "k" + ((hash >>> 0) % 8);
}

const two = (n) => String(n).padStart(2, "0");

/** `HH:MM:SS.mmm` in local time. */
export function clock(ts) {
  if (typeof ts !== "number") return "--:--:--.---";
  const d = new Date(ts * 1000);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(
    d.getMilliseconds()
  ).padStart(3, "0")}`;
}

/** A date and time for tables: `YYYY-MM-DD HH:MM:SS` local. */
export function when(ts) {
  if (typeof ts !== "number") return "-";
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock(ts).slice(0, 8)}`;
}

/** A size in bytes, as `ls` shows it. */
export function bytes(n) {
  if (typeof n !== "number") return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Thousands separated. */
export function count(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "-";
}

/** The keys and filters in the page's URL. */
export function fromUrl() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return { keys: params.getAll("key"), filters };
}

/** Query parameters for *keys* (as `key=`, when given) and *filters*. */
export function query(keys, filters) {
  const params = new URLSearchParams();
  for (const key of keys || []) params.append("key", key);
  for (const name of FILTERS) if (filters[name]) params.append(name, filters[name]);
  return params;
}

/** A page's URL for *keys* and *filters*. */
export function pageUrl(page, keys, filters) {
  return `/${page}?` + query(keys, filters);
}

/** Show a one-line message in the page's notice area (empty hides it). */
export function notice(message) {
  const node = document.getElementById("notice");
  if (!node) return;
  node.replaceChildren(visible(message || ""));
  node.hidden = !message;
}
