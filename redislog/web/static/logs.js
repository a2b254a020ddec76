// The logs the token may read, with what `redislog ls` shows; each links to its
// view and its stats, and several can be viewed together.

import { api, bytes, count, el, keyClass, notice, pageUrl, when } from "./common.js";

const body = document.querySelector("#logs tbody");
const button = document.getElementById("view-selected");

function link(text, href, cls) {
  const a = el("a", cls, text);
  a.setAttribute("href", href);
  return a;
}

function chosen() {
  return [...body.querySelectorAll("input:checked")].map((box) => box.value);
}

async function start() {
  let answer;
  try {
    answer = await api("/api/logs");
  } catch (error) {
    notice(error.message);
    return;
  }
  const logs = answer.logs || [];
  if (!logs.length) notice("No logs this token may read yet.");
  for (const log of logs) {
    const tr = el("tr", "log");
    tr.dataset.key = log.key;
    const box = el("input", null, null, { type: "checkbox", "aria-label": "choose" });
    box.value = log.key;
    box.addEventListener("change", () => (button.disabled = chosen().length < 1));
    const name = el("td", "key-cell");
    name.append(link(log.key, pageUrl("view", [log.key], {}), "key " + keyClass(log.key)));
    if (log.type !== "list") name.append(el("span", "problem", ` (${log.type})`));
    tr.append(
      el("td").appendChild(box).parentNode,
      name,
      el("td", "num", count(log.records)),
      el("td", "num", count(log.cap)),
      el("td", "num", bytes(log.memory)),
      el("td", null, when(log.oldest)),
      el("td", null, when(log.newest)),
      el("td", "num", count(log.tails)),
    );
    const links = el("td");
    links.append(link("stats", pageUrl("stats", [log.key], {}), "link"));
    tr.append(links);
    body.append(tr);
  }
  button.addEventListener("click", () => {
    const keys = chosen();
    if (keys.length) location.assign(pageUrl("view", keys, {}));
  });
}

start();
