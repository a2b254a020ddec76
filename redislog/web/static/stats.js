// A log's stats (as `redislog stats`): records per level over time as an SVG
// chart, stacked with the errors on top, and the busiest loggers.  Clicking a
// bar opens the view narrowed to that bar's time.

import { api, count, el, fromUrl, keyPath, labelKey, notice, pageUrl, when } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 960;
const HEIGHT = 260;
const LEFT = 56;
const BOTTOM = 24;
const TOP = 8;

const { keys, filters } = fromUrl();
const key = keys[0];

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, v] of Object.entries(attrs || {})) node.setAttribute(name, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function iso(ts) {
  return new Date(ts * 1000).toISOString();
}

function chart(stats) {
  const series = stats.series || [];
  const box = document.getElementById("chart");
  if (!series.length) {
    box.append(el("p", "notice", "No records with a time in this range."));
    return;
  }
  // Least severe at the bottom: the errors end up on top of each bar.
  const order = Object.keys(stats.levels);
  const most = Math.max(1, ...series.map((bucket) => bucket.records));
  const plot = WIDTH - LEFT - 8;
  const high = HEIGHT - BOTTOM - TOP;
  const step = plot / series.length;
  const gap = step > 4 ? 1 : 0;
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "histogram", role: "img", "data-every": stats.every,
    "aria-label": `records per level over time in ${key}`,
  });
  for (const fraction of [0, 0.5, 1]) {
    const y = TOP + high - fraction * high;
    root.append(svg("line", { x1: LEFT, x2: WIDTH - 8, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: LEFT - 6, y: y + 4, class: "axis", "text-anchor": "end" },
      count(Math.round(fraction * most))));
  }
  series.forEach((bucket, i) => {
    const x = LEFT + i * step;
    const group = svg("g", { class: "bar", "data-start": bucket.start, tabindex: 0 });
    let y = TOP + high;
    for (const label of order) {
      const n = bucket.levels[label] || 0;
      if (!n) continue;
      const h = (n / most) * high;
      y -= h;
      group.append(svg("rect", {
        x: x + gap / 2, y, width: Math.max(1, step - gap), height: h,
        class: "fill-" + labelKey(label), "data-level": label,
      }));
    }
    // A transparent full-height target, so thin bars are easy to click.
    group.prepend(svg("rect", { x, y: TOP, width: step, height: high, class: "target" }));
    const parts = Object.entries(bucket.levels).map(([label, n]) => `${label} ${count(n)}`);
    group.append(svg("title", {}, `${when(bucket.start)}: ${count(bucket.records)} records (${parts.join(", ")})`));
    const open = () => {
      const narrowed = { ...filters, since: iso(bucket.start), until: iso(bucket.start + stats.every) };
      location.assign(pageUrl("view", keys, narrowed));
    };
    group.addEventListener("click", open);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open();
    });
    root.append(group);
  });
  const ticks = Math.min(series.length, 6);
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t * (series.length - 1)) / Math.max(1, ticks - 1));
    const x = LEFT + i * step + step / 2;
    root.append(svg("text", { x, y: HEIGHT - 6, class: "axis", "text-anchor": "middle" },
      when(series[i].start).slice(5, 16)));
  }
  box.append(root);
}

function legend(stats) {
  const box = document.getElementById("legend");
  for (const [label, n] of Object.entries(stats.levels).reverse()) {
    const item = el("span", "item");
    item.append(el("span", "swatch fill-" + labelKey(label)), ` ${label} ${count(n)}`);
    box.append(item);
  }
}

function loggers(stats) {
  const body = document.querySelector("#loggers tbody");
  for (const entry of stats.loggers || []) {
    const tr = el("tr");
    const name = el("td");
    if (entry.logger === null) {
      name.append(el("span", "problem", "(no logger)"));
    } else {
      const a = el("a", "link", entry.logger);
      a.setAttribute("href", pageUrl("view", keys, { ...filters, logger: entry.logger }));
      name.append(a);
    }
    tr.append(name, el("td", "num", count(entry.records)), el("td", "num", count(entry.errors)));
    body.append(tr);
  }
}

async function start() {
  if (!key) {
    notice("No log chosen: pick one on the Logs page.");
    return;
  }
  document.getElementById("title").replaceChildren(el("span", null, `Stats of ${key}`));
  let stats;
  try {
    const params = new URLSearchParams();
    for (const [name, v] of Object.entries(filters)) params.set(name, v);
    stats = await api(keyPath(key, "stats"), params);
  } catch (error) {
    notice(error.message);
    return;
  }
  const share = typeof stats.error_share === "number" ? ` (${(stats.error_share * 100).toFixed(1)}%)` : "";
  document.getElementById("summary").replaceChildren(
    el("span", null,
      `${count(stats.records)} records from ${when(stats.from)} to ${when(stats.to)}, ` +
      `${count(stats.errors)} errors${share}; ${count(stats.rate.last_minute)} in the last minute, ` +
      `peak ${count(stats.rate.peak_minute)} a minute; one bar is ${stats.every} s`),
  );
  legend(stats);
  chart(stats);
  loggers(stats);
  document.body.dataset.ready = "true";
}

start();
