// The Media web page: one file of plain JavaScript over the /v1 API, no build step.
// Routes: /?q=TEXT (search), /media/{id} (item view), /duplicates (review), /map?pack=NAME (embedding map).
"use strict";

const view = document.getElementById("view");
const tooltip = document.getElementById("tooltip");
const keyForm = document.getElementById("key-form");

// ---- API access: a bearer key from localStorage when the server asks for one ----------------------
const apiKey = () => localStorage.getItem("mediaKey") || "";

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (apiKey()) headers.set("Authorization", "Bearer " + apiKey());
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) keyForm.hidden = false;
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
  return body;
}

keyForm.addEventListener("submit", e => {
  e.preventDefault();
  localStorage.setItem("mediaKey", document.getElementById("key").value.trim());
  keyForm.hidden = true;
  route();
});

// Thumbnails: a plain <img src> without a key; with one, fetched with the header and shown as a blob.
function thumb(id, cls = "") {
  const img = document.createElement("img");
  img.alt = id.slice(0, 12);
  img.loading = "lazy";
  if (cls) img.className = cls;
  const url = `/v1/media/${id}/thumbnail`;
  if (!apiKey()) img.src = url;
  else fetch(url, { headers: { Authorization: "Bearer " + apiKey() } })
    .then(r => r.ok ? r.blob() : null).then(b => { if (b) img.src = URL.createObjectURL(b); });
  return img;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

const name = path => (path || "").split("/").pop();
const fmt = x => (x == null ? "" : Number(x).toFixed(Math.abs(x) >= 10 ? 0 : 4));
const showError = (where, err) => where.replaceChildren(el("p", { class: "error" }, err.message || String(err)));

function go(url) {
  history.pushState(null, "", url);
  route();
}

document.addEventListener("click", e => {
  const a = e.target.closest("a[data-link]");
  if (a && a.origin === location.origin && !e.metaKey && !e.ctrlKey) {
    e.preventDefault();
    go(a.getAttribute("href"));
  }
});
window.addEventListener("popstate", route);

// ---- search --------------------------------------------------------------------------------------
function card(hit) {
  return el("div", { class: "card result", "data-id": hit.id, onclick: () => go(`/media/${hit.id}`) },
    thumb(hit.id),
    el("div", { class: "meta" }, el("span", { class: "score" }, fmt(hit.score)), ` · ${hit.modality} · ${hit.pack}`),
    el("div", { class: "meta" }, name(hit.path)));
}

function searchPage(params) {
  const q = params.get("q") || "";
  const text = el("input", { type: "text", name: "q", placeholder: "Search by text, e.g. red", value: q });
  const file = el("input", { type: "file", accept: "image/*,audio/*", id: "query-file" });
  const results = el("div", { id: "results", class: "grid" });
  const status = el("p", { class: "meta", id: "search-status" });
  const form = el("form", { class: "search", onsubmit: e => { e.preventDefault(); if (file.files.length) searchFile(file.files[0]); else go("/?q=" + encodeURIComponent(text.value)); } },
    text, file, el("button", { type: "submit" }, "Search"));
  view.replaceChildren(form, status, results);

  async function show(promise, label) {
    status.textContent = "Searching…";
    try {
      const body = await promise;
      status.textContent = `${body.results.length} results for ${label}`;
      results.replaceChildren(...body.results.map(card));
    } catch (err) {
      status.textContent = "";
      showError(results, err);
    }
  }
  function searchFile(f) {
    const data = new FormData();
    data.append("file", f);
    data.append("k", "24");
    show(api("/v1/search", { method: "POST", body: data }), f.name);
  }
  if (q) show(api("/v1/search", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: q, k: 24 }) }), `“${q}”`);
}

// ---- item view: the item, its flags, and its near-duplicates side by side -------------------------
async function itemPage(id) {
  view.replaceChildren(el("p", {}, "Loading…"));
  try {
    const item = await api(`/v1/media/${id}`);
    const flags = el("table", { id: "flags" }, el("tr", {}, el("th", {}, "kind"), el("th", {}, "method"), el("th", {}, "distance"), el("th", {}, "threshold"), el("th", {}, "label / action")),
      item.flags.map(f => el("tr", {}, el("td", {}, f.kind), el("td", {}, f.method), el("td", {}, fmt(f.distance)), el("td", {}, fmt(f.threshold)),
        el("td", {}, [f.label || f.concept || f.bank, f.action].filter(Boolean).join(" → ")))));
    const left = el("section", { id: "item", "data-id": item.id },
      thumb(item.id, "thumb"),
      el("h3", {}, name(item.path)),
      el("div", { class: "meta" }, `${item.modality} · ${item.format} · ${item.width ? `${item.width}×${item.height} · ` : ""}${item.durationSeconds ? `${fmt(item.durationSeconds)} s · ` : ""}${item.sizeBytes} bytes`),
      el("div", { class: "meta" }, `id ${item.id}`),
      item.collection ? el("div", { class: "meta" }, `collection ${item.collection}`) : null,
      el("h4", {}, "Flags"), item.flags.length ? flags : el("p", { class: "meta" }, "none"));
    const near = el("div", { class: "grid", id: "near" }, item.nearDuplicates.map(n =>
      el("div", { class: "card near", onclick: () => go(`/media/${n.id}`) }, thumb(n.id),
        el("div", {}, el("span", { class: "badge" + (n.relation === "original" ? " original" : "") }, n.relation)),
        el("div", { class: "meta" }, `${n.method} · distance ${fmt(n.distance)} ≤ ${fmt(n.threshold)}`),
        el("div", { class: "meta" }, name(n.path)))));
    const similar = el("div", { class: "grid", id: "similar" });
    view.replaceChildren(el("div", { class: "side" }, left,
      el("section", {}, el("h3", {}, `Near-duplicates (${item.nearDuplicates.length})`), item.nearDuplicates.length ? near : el("p", { class: "meta" }, "none"),
        el("h3", {}, "Similar"), similar)));
    api(`/v1/media/${id}/similar?k=12`).then(b => similar.replaceChildren(...b.results.map(card))).catch(err => showError(similar, err));
  } catch (err) {
    showError(view, err);
  }
}

// ---- duplicate review ----------------------------------------------------------------------------
async function duplicatesPage(params) {
  const page = Math.max(1, parseInt(params.get("page") || "1", 10));
  view.replaceChildren(el("p", {}, "Loading…"));
  try {
    const body = await api(`/v1/duplicates?page=${page}&size=20`);
    const pages = Math.max(1, Math.ceil(body.totalGroups / body.pageSize));
    const groups = body.groups.map(g => el("div", { class: "group dup-group" },
      el("div", { class: "members" },
        el("div", { class: "card", onclick: () => go(`/media/${g.originalId}`) }, thumb(g.originalId),
          el("span", { class: "badge original" }, "original"), el("div", { class: "meta" }, name(g.originalPath))),
        g.members.map(m => el("div", { class: "card member", onclick: () => go(`/media/${m.id}`) }, thumb(m.id),
          m.evidence.map(e => el("div", { class: "meta evidence" }, `${e.method} · distance ${fmt(e.distance)} ≤ ${fmt(e.threshold)}`)),
          el("div", { class: "meta" }, name(m.path)))))));
    view.replaceChildren(el("h2", {}, `Near-duplicate groups (${body.totalGroups})`),
      ...(groups.length ? groups : [el("p", { class: "meta" }, "No near-duplicates flagged yet.")]),
      el("p", {}, page > 1 ? el("a", { href: `/duplicates?page=${page - 1}`, "data-link": "" }, "← newer") : null, ` page ${page} of ${pages} `,
        page < pages ? el("a", { href: `/duplicates?page=${page + 1}`, "data-link": "" }, "older →") : null));
  } catch (err) {
    showError(view, err);
  }
}

// ---- embedding map: PCA scatter computed by the service -------------------------------------------
const palette = ["#3b6fd8", "#e0533c", "#2f9e5a", "#c58b12", "#8a4fd0", "#1aa3b0", "#d04f9a", "#6b7280", "#84a019", "#b45309"];

async function mapPage(params) {
  const pack = params.get("pack") || "";
  const colourBy = el("select", { id: "colour" }, ["modality", "flag", "collection"].map(c => el("option", { value: c }, c)));
  const packInput = el("input", { type: "text", value: pack, placeholder: "pack (empty: the only one)" });
  const info = el("p", { class: "meta", id: "map-info" }, "Loading…");
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  svg.id = "map-svg";
  const legend = el("div", { id: "legend" });
  view.replaceChildren(el("form", { class: "search", onsubmit: e => { e.preventDefault(); go("/map" + (packInput.value ? "?pack=" + encodeURIComponent(packInput.value) : "")); } },
    packInput, el("label", {}, "colour by ", colourBy), el("button", {}, "Show")), info, legend, svg);
  let body;
  try {
    body = await api("/v1/map" + (pack ? "?pack=" + encodeURIComponent(pack) : ""));
  } catch (err) {
    info.textContent = "";
    showError(legend, err);
    return;
  }
  info.textContent = `${body.points.length} of ${body.total} items of ${body.pack}; PC1 ${(100 * body.explainedVariance[0]).toFixed(1)}% and PC2 ${(100 * body.explainedVariance[1]).toFixed(1)}% of the variance; computed in ${body.milliseconds} ms`;
  const draw = () => {
    const key = colourBy.value;
    const values = [...new Set(body.points.map(p => p[key] || "none"))].sort();
    const colour = v => palette[values.indexOf(v) % palette.length];
    const xs = body.points.map(p => p.x), ys = body.points.map(p => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const W = 1000, H = 640, pad = 20;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.replaceChildren(...body.points.map(p => {
      const c = document.createElementNS(svgNs, "circle");
      c.setAttribute("cx", pad + (x1 > x0 ? (p.x - x0) / (x1 - x0) : 0.5) * (W - 2 * pad));
      c.setAttribute("cy", H - pad - (y1 > y0 ? (p.y - y0) / (y1 - y0) : 0.5) * (H - 2 * pad));
      c.setAttribute("r", body.points.length > 2000 ? 3 : 5);
      c.setAttribute("fill", colour(p[key] || "none"));
      c.dataset.id = p.id;
      c.addEventListener("mouseenter", e => {
        tooltip.replaceChildren(thumb(p.id), el("div", { class: "meta" }, `${p.modality}${p.flag ? " · " + p.flag : ""}${p.collection ? " · " + p.collection : ""}`));
        tooltip.hidden = false;
        tooltip.style.left = e.clientX + 12 + "px";
        tooltip.style.top = e.clientY + 12 + "px";
      });
      c.addEventListener("mouseleave", () => { tooltip.hidden = true; });
      c.addEventListener("click", () => { tooltip.hidden = true; go(`/media/${p.id}`); });
      return c;
    }));
    legend.replaceChildren(...values.map(v => el("span", {}, el("i", { style: `background:${colour(v)}` }), v)));
  };
  colourBy.addEventListener("change", draw);
  draw();
}

// ---- router --------------------------------------------------------------------------------------
function route() {
  tooltip.hidden = true;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const item = path.match(/^\/media\/([0-9a-f]{64})$/);
  if (item) return itemPage(item[1]);
  if (path === "/duplicates") return duplicatesPage(params);
  if (path === "/map") return mapPage(params);
  return searchPage(params);
}

if (apiKey()) document.getElementById("key").value = apiKey();
route();
