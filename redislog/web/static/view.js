// The view of one or several logs: the newest records, older ones when
// scrolling back, live records over Server-Sent Events.
//
// At most CAP rows are in the page: following drops the oldest rows, loading
// older ones past the cap drops the newest and detaches the view from the live
// end (resuming reloads it).  Records arriving while paused or detached are
// counted and held (at most CAP of them).  Rows are built in batches, once per
// animation frame.

import {
  ApiError, api, clock, el, fromUrl, keyClass, keyPath, levelKey, levelLabel, levelnoOf,
  notice, pageUrl, query, signIn, visible,
} from "./common.js";

const CAP = 2000;
const PAGE = 200;
const FLUSH_EVERY = 50; // ms between two batches of live rows at most
const VALUE_MAX = 2000; // characters of one value in a row (the JSON panel has all)
const SHOWN = new Set(["ts", "level", "levelno", "logger", "msg", "id", "exc", "exc_type", "stack"]);
const HIDDEN = new Set(["host", "pid", "thread", "task", "file", "line", "func", "truncated"]);

const { keys, filters } = fromUrl();
const several = keys.length > 1;

const rows = document.getElementById("rows");
const scroller = document.getElementById("scroller");
const toggle = document.getElementById("toggle");
const banner = document.getElementById("banner");
const olderBar = document.getElementById("older");
const counts = document.getElementById("counts");
const detail = document.getElementById("detail");
const records = new WeakMap();

// What the page shows, and where it is.
let state = "loading"; // loading | live | paused | reconnecting | ended
let paused = false; // the user paused (or scrolled back past the cap: detached)
let detached = false;
let incoming = []; // {key, record} waiting for the next frame
let held = []; // arrived while paused
let heldCount = 0;
let frame = 0;
let lastFlush = 0;
let source = null;
let lastId = null; // the newest record id shown or held
let retry = 0;
let redisDown = false;
let streaming = false; // the current event stream is attached
let fatal = false; // the filter or the keys were refused: no point retrying
const seen = new Map(); // record ids lately shown (to drop repeats)

// -- the status line ---------------------------------------------------------------

function setState(next) {
  state = next;
  let label;
  if (paused) {
    label = detached ? "Detached" : "Paused";
    if (heldCount) label += ` · ${heldCount.toLocaleString("en-US")} new`;
  } else {
    label = { loading: "Loading…", live: "Live", reconnecting: "Reconnecting…", ended: "Ended" }[
      next
    ];
  }
  toggle.textContent = label;
  toggle.dataset.state = paused ? "paused" : next;
  toggle.title = paused ? "Resume (Space)" : "Pause (Space)";
  document.body.dataset.state = toggle.dataset.state;
}

function showBanner(message) {
  banner.replaceChildren(visible(message || ""));
  banner.hidden = !message;
}

function updateCounts() {
  counts.textContent = `${rows.childElementCount.toLocaleString("en-US")} rows shown`;
}

// -- rows --------------------------------------------------------------------------

function remember(id) {
  if (id === undefined || id === null) return;
  seen.set(String(id), true);
  if (seen.size > CAP * 4) {
    for (const old of seen.keys()) {
      seen.delete(old);
      if (seen.size <= CAP * 2) break;
    }
  }
}

/** A value as the row shows it: logfmt quoting, cut at VALUE_MAX characters. */
function value(v) {
  let text;
  if (typeof v === "string") text = /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  else text = JSON.stringify(v);
  return clip(text);
}

function clip(text) {
  if (text.length <= VALUE_MAX) return text;
  return text.slice(0, VALUE_MAX) + `…[+${(text.length - VALUE_MAX).toLocaleString("en-US")} chars]`;
}

function row(key, record) {
  const node = el("div", "row lv-" + levelKey(levelnoOf(record)));
  if (several) node.classList.add(keyClass(key));
  if (record.id !== undefined) node.dataset.id = String(record.id);
  if (typeof record.ts === "number") node.dataset.ts = String(record.ts);
  records.set(node, { key, record });
  const line = el("div", "line");
  if (several) line.append(el("span", "key " + keyClass(key), key));
  line.append(el("span", "ts", clock(record.ts)));
  line.append(el("span", "level", levelLabel(record)));
  if (typeof record.logger === "string") line.append(el("span", "logger", record.logger));
  if ("raw" in record && "problem" in record && !("msg" in record)) {
    line.append(el("span", "msg raw", clip(String(record.raw))));
    line.append(el("span", "problem", `(${record.problem})`));
  } else {
    line.append(el("span", "msg", typeof record.msg === "string" ? clip(record.msg) : value(record.msg)));
  }
  // The extra fields as logfmt, in one text run (few nodes per row: rows come
  // and go by the thousand when following a busy log).
  const pairs = [];
  for (const [name, v] of Object.entries(record)) {
    if (SHOWN.has(name) || HIDDEN.has(name) || v === null || v === undefined) continue;
    pairs.push(`${name}=${value(v)}`);
  }
  if (pairs.length) line.append(el("span", "extras", pairs.join(" ")));
  node.append(line);
  const trace = record.exc || record.stack;
  if (typeof trace === "string" && trace) {
    const fold = el("details", "trace");
    const last = trace.trim().split("\n").pop();
    fold.append(el("summary", null, last));
    fold.append(el("pre", null, trace));
    node.append(fold);
  }
  return node;
}

function gapRow(message) {
  const node = el("div", "row gap", message);
  return node;
}

function atBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
}

/** Make room for *n* rows at the bottom: the oldest rows go first. */
function dropOldest(n) {
  const over = rows.childElementCount + n - CAP;
  if (over <= 0) return;
  const keep = !atBottom();
  const before = scroller.scrollHeight;
  for (let i = 0; i < over && rows.firstElementChild; i++) rows.firstElementChild.remove();
  olderBar.dataset.more = "true";
  olderBar.textContent = "Older records: scroll up to load";
  if (keep) scroller.scrollTop -= before - scroller.scrollHeight;
  stale = true; // older() must now start above the new top row
}

/** Append live records (oldest first) at the bottom; never more than CAP rows. */
function append(items) {
  const stick = atBottom();
  const fresh = items.length > CAP ? items.slice(-CAP) : items;
  const fragment = document.createDocumentFragment();
  for (const { key, record, gap } of fresh) {
    fragment.append(gap ? gapRow(gap) : row(key, record));
  }
  dropOldest(fresh.length);
  rows.append(fragment);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  updateCounts();
}

function accept(item) {
  if (state === "loading") {
    held.push(item);
    return;
  }
  const id = item.record && item.record.id;
  if (id !== undefined && id !== null) {
    if (seen.has(String(id))) return;
    remember(id);
    lastId = String(id);
  }
  if (paused) {
    heldCount += item.gap ? 0 : 1;
    held.push(item);
    if (held.length > CAP) held.splice(0, held.length - CAP);
    setState(state);
    return;
  }
  incoming.push(item);
  if (!frame) {
    // At most one batch of rows every FLUSH_EVERY ms, each on an animation frame.
    const wait = Math.max(0, lastFlush + FLUSH_EVERY - performance.now());
    frame = setTimeout(() => requestAnimationFrame(flush), wait);
  }
}

function flush() {
  frame = 0;
  lastFlush = performance.now();
  const batch = incoming;
  incoming = [];
  if (batch.length) append(batch);
}

// -- older records (k-way merge over the keys, newest first) -------------------------

class Older {
  /** Pages of *key* newest first, from *until* (epoch seconds) down when
   * given, skipping the ids in *skip* (rows already shown). */
  constructor(key, until = null, skip = null) {
    this.key = key;
    this.until = until;
    this.skip = skip;
    this.buffer = [];
    this.next = undefined; // undefined: not asked yet; null: no more
  }

  async fill() {
    if (this.buffer.length || this.next === null) return;
    const params = query([], filters);
    params.set("limit", String(PAGE));
    if (this.until !== null) params.set("until", new Date(Math.ceil(this.until * 1000) + 1).toISOString());
    if (this.next) params.set("before", this.next);
    const page = await api(keyPath(this.key, "records"), params);
    this.next = page.next || null;
    for (const record of page.records) {
      if (this.skip && record.id !== undefined && this.skip.has(String(record.id))) continue;
      this.buffer.push(record);
    }
    if (!this.buffer.length && this.next) return this.fill();
  }
}

let sources = keys.map((key) => new Older(key));
let stale = false;

/** Start older() again above the top row (after rows were dropped there). */
function restartOlder() {
  stale = false;
  const top = rows.querySelector(".row[data-ts]");
  if (!top) return;
  const until = Number(top.dataset.ts);
  const skip = new Set();
  for (const node of rows.querySelectorAll(".row[data-id]")) {
    if (Number(node.dataset.ts) <= until + 0.002) skip.add(node.dataset.id);
  }
  sources = keys.map((key) => new Older(key, until, skip));
}
let loadingOlder = false;

/** The next *n* older records, newest first, merged over the keys by time. */
async function older(n) {
  const found = [];
  while (found.length < n) {
    await Promise.all(sources.map((s) => s.fill()));
    let best = null;
    for (const s of sources) {
      if (!s.buffer.length) continue;
      const ts = typeof s.buffer[0].ts === "number" ? s.buffer[0].ts : -Infinity;
      if (best === null || ts > best.ts) best = { s, ts };
    }
    if (best === null) break;
    found.push({ key: best.s.key, record: best.s.buffer.shift() });
  }
  return found;
}

function exhausted() {
  return sources.every((s) => s.next === null && !s.buffer.length);
}

function markOlder() {
  const done = exhausted();
  olderBar.dataset.more = done ? "false" : "true";
  olderBar.textContent = done ? "The oldest record stored" : "Older records: scroll up to load";
}

async function loadOlder() {
  if (stale) restartOlder();
  if (loadingOlder || exhausted()) return;
  loadingOlder = true;
  olderBar.textContent = "Loading older records…";
  try {
    const found = await older(PAGE);
    const fragment = document.createDocumentFragment();
    for (let i = found.length - 1; i >= 0; i--) {
      remember(found[i].record.id);
      fragment.append(row(found[i].key, found[i].record));
    }
    const before = scroller.scrollHeight;
    rows.prepend(fragment);
    scroller.scrollTop += scroller.scrollHeight - before;
    const over = rows.childElementCount - CAP;
    if (over > 0) {
      for (let i = 0; i < over; i++) rows.lastElementChild.remove();
      if (!detached) {
        detached = true;
        paused = true;
        setState(state);
      }
    }
    markOlder();
    updateCounts();
  } catch (error) {
    report(error);
  } finally {
    loadingOlder = false;
  }
}

// -- live ----------------------------------------------------------------------------

function followUrl() {
  const params = query([], filters);
  if (lastId !== null) params.set("last_event_id", lastId);
  if (keys.length === 1) return keyPath(keys[0], "follow") + "?" + params;
  for (const key of keys) params.append("key", key);
  return "/api/follow?" + params;
}

/** Open the event stream; resolves once the server has attached it. */
function follow() {
  return new Promise((resolve) => {
    const es = new EventSource(followUrl());
    source = es;
    let opened = false;
    es.addEventListener("hello", () => {
      opened = true;
      streaming = true;
      retry = 0;
      if (!redisDown) showBanner("");
      if (state !== "loading") setState("live");
      resolve(true);
    });
    es.addEventListener("record", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      accept({ key: data.key, record: data.record });
    });
    es.addEventListener("gap", (event) => {
      accept({ gap: JSON.parse(event.data).reason || "records may be missing here" });
    });
    es.addEventListener("missed", (event) => {
      const data = JSON.parse(event.data);
      accept({ gap: `${data.records} records missed: ${data.reason}` });
    });
    es.addEventListener("error", () => {
      // The stream broke (the server, the network or Redis): reopen it from
      // the last record seen, so nothing is missed or shown twice.
      if (source !== es) return;
      streaming = false;
      es.close();
      source = null;
      if (fatal) return resolve(false);
      if (state !== "loading") setState("reconnecting");
      showBanner(redisDown ? bannerText : "The live feed was cut: reconnecting…");
      const wait = Math.min(5000, 500 * 2 ** retry++);
      setTimeout(() => {
        if (!source) follow().then(checkAccess);
      }, wait);
      if (!opened) resolve(false);
    });
  });
}

async function checkAccess(ok) {
  if (ok) return;
  try {
    await api("/api/token");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) return;
  }
}

let bannerText = "";

async function watchRedis() {
  try {
    const response = await fetch("/healthz", { credentials: "same-origin" });
    const body = await response.json();
    if (response.ok) {
      if (redisDown) {
        redisDown = false;
        if (streaming) {
          showBanner("");
          if (state === "reconnecting") setState("live");
        } else {
          showBanner("Redis answers again: reconnecting the live feed…");
        }
      }
    } else {
      redisDown = true;
      bannerText = `Redis is unreachable (${body.error || "down"}): reconnecting…`;
      showBanner(bannerText);
      if (state === "live") setState("reconnecting");
    }
  } catch (_) {
    redisDown = true;
    bannerText = "The server is unreachable: reconnecting…";
    showBanner(bannerText);
    if (state === "live") setState("reconnecting");
  }
  setTimeout(watchRedis, redisDown ? 1000 : 2000);
}

// -- pausing ---------------------------------------------------------------------------

async function resume() {
  if (!paused) return;
  if (detached) {
    location.reload();
    return;
  }
  paused = false;
  const waiting = held;
  held = [];
  heldCount = 0;
  setState(source ? "live" : state);
  if (waiting.length) {
    append(waiting);
  }
  scroller.scrollTop = scroller.scrollHeight;
}

function pause() {
  if (paused) return;
  paused = true;
  setState(state);
}

function togglePause() {
  if (paused) resume();
  else pause();
}

// -- the record's JSON ---------------------------------------------------------------

let shownJson = "";

function openDetail(node) {
  const entry = records.get(node);
  if (!entry) return;
  for (const old of rows.querySelectorAll(".row.selected")) old.classList.remove("selected");
  node.classList.add("selected");
  shownJson = JSON.stringify(entry.record, null, 2);
  document.getElementById("detail-title").replaceChildren(
    visible(`${entry.key} · ${entry.record.id ?? ""}`)
  );
  document.getElementById("json").textContent = shownJson;
  document.getElementById("copy").textContent = "Copy";
  detail.hidden = false;
}

async function copyJson() {
  const button = document.getElementById("copy");
  try {
    await navigator.clipboard.writeText(shownJson);
    button.textContent = "Copied";
  } catch (_) {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById("json"));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = document.execCommand("copy") ? "Copied" : "Selected: press Ctrl+C";
  }
}

// -- errors ----------------------------------------------------------------------------

function report(error) {
  if (error instanceof ApiError && error.status === 401) return;
  if (error instanceof ApiError && [400, 403, 404].includes(error.status)) {
    fatal = true;
    if (source) source.close();
    source = null;
    setState("ended");
  }
  notice(error instanceof Error ? error.message : String(error));
}

// -- the page --------------------------------------------------------------------------

function fillFilters() {
  const form = document.getElementById("filters");
  for (const [name, v] of Object.entries(filters)) {
    if (form.elements[name]) form.elements[name].value = v;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = {};
    for (const input of form.querySelectorAll("input[name]")) {
      if (input.value.trim()) chosen[input.name] = input.value.trim();
    }
    location.assign(pageUrl("view", keys, chosen));
  });
  const stats = document.getElementById("stats-link");
  stats.setAttribute("href", pageUrl("stats", keys.slice(0, 1), filters));
  const names = document.getElementById("keys");
  for (const key of keys) {
    names.append(el("span", "key " + (several ? keyClass(key) : ""), key), " ");
  }
  document.title = `${keys.join(", ")} · redislog`;
}

function keyboard(event) {
  const target = event.target;
  const typing =
    target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement;
  if (event.key === "Escape") {
    if (typing) target.blur();
    detail.hidden = true;
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") {
    event.preventDefault();
    document.getElementById("grep").focus();
  } else if (event.key === " ") {
    event.preventDefault();
    togglePause();
  } else if (event.key === "g") {
    scroller.scrollTop = 0;
  } else if (event.key === "G") {
    if (detached) resume();
    else scroller.scrollTop = scroller.scrollHeight;
  }
}

async function start() {
  if (!keys.length) {
    notice("No log chosen: pick one on the Logs page.");
    setState("ended");
    return;
  }
  fillFilters();
  document.addEventListener("keydown", keyboard);
  toggle.addEventListener("click", togglePause);
  document.getElementById("close").addEventListener("click", () => (detail.hidden = true));
  document.getElementById("copy").addEventListener("click", copyJson);
  rows.addEventListener("click", (event) => {
    if (event.target.closest("summary, details pre")) return;
    const node = event.target.closest(".row");
    if (node) openDetail(node);
  });
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 300) loadOlder();
  });
  // Attach the live feed first, then read the newest records: a record logged
  // in between comes both ways and is shown once (by its id).
  const attached = await follow();
  try {
    const newest = await older(PAGE);
    const fragment = document.createDocumentFragment();
    for (let i = newest.length - 1; i >= 0; i--) {
      remember(newest[i].record.id);
      fragment.append(row(newest[i].key, newest[i].record));
    }
    rows.append(fragment);
    if (newest.length && newest[0].record.id !== undefined) lastId = String(newest[0].record.id);
    markOlder();
  } catch (error) {
    report(error);
  }
  const early = held;
  held = [];
  setState(fatal ? "ended" : attached ? "live" : "reconnecting");
  for (const item of early) accept(item);
  flush();
  scroller.scrollTop = scroller.scrollHeight;
  updateCounts();
  setTimeout(watchRedis, 2000);
}

window.addEventListener("pagehide", () => {
  if (source) source.close();
});

start().catch(report);
