// Mnemonix operator dashboard. Hand-written, no dependencies, no build step.
// Every value from the server reaches the DOM through textContent or an SVG attribute,
// never through innerHTML: memory content is user data.
"use strict";

(() => {
  const KEY_STORAGE = "mnemonix.adminKey";
  const TIER_ORDER = ["hot", "warm", "cold", "archived"];
  const CHANNEL_ORDER = ["semantic", "keyword", "graph", "temporal"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  const RUN_LIMIT = 100;

  const $ = (id) => document.getElementById(id);
  let adminKey = sessionStorage.getItem(KEY_STORAGE) || "";
  let knownChannels = [...CHANNEL_ORDER];
  let lastRunId = null;

  // ---- helpers -------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${adminKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiError(0, `The server did not answer (${err.message}).`, null);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      // RFC 9457 problem details: `detail` is written for people.
      const detail =
        (data && (data.detail || data.title)) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, `${detail}`, data);
    }
    return data;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
  const fmtInt = (value) => Math.round(num(value)).toLocaleString("en-US");

  function fmtBytes(value) {
    let n = num(value);
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let unit = 0;
    while (n >= 1024 && unit < units.length - 1) {
      n /= 1024;
      unit += 1;
    }
    return `${unit === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[unit]}`;
  }

  function fmtMs(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
  }

  function fmtScore(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1 ? value.toFixed(3) : value.toPrecision(3);
  }

  function fmtTime(value) {
    if (!value) return "–";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function ordered(keys, order) {
    const known = order.filter((k) => keys.includes(k));
    return known.concat(keys.filter((k) => !order.includes(k)).sort());
  }

  function showError(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function tenantName(run) {
    if (run.tenant === null || run.tenant === undefined || run.tenant === "") return "all tenants";
    return typeof run.tenant === "object" ? run.tenant.name || run.tenant.id : String(run.tenant);
  }

  // ---- session -------------------------------------------------------------------------

  function signedIn(on) {
    $("login").hidden = on;
    $("dashboard").hidden = !on;
    $("session-actions").hidden = !on;
    document.body.dataset.state = on ? "loading" : "signed-out";
    if (!on) $("admin-key").focus();
  }

  function signOut(message) {
    adminKey = "";
    sessionStorage.removeItem(KEY_STORAGE);
    signedIn(false);
    showError($("login-error"), message);
  }

  // ---- overview ------------------------------------------------------------------------

  function renderOverview(stats, runs) {
    const totals = stats.totals || {};
    const tenants = stats.tenants || [];
    const tiers = stats.tiers || {};
    const indexes = stats.indexes || {};
    const channels = stats.channels || {};
    const memories = totals.memories ?? tenants.reduce((s, t) => s + num(t.memories), 0);
    const storage = Object.values(tiers).reduce((s, t) => s + num(t.bytes), 0);
    const indexBytes = Object.values(indexes).reduce((s, i) => s + num(i.bytes), 0);
    const searches = Object.values(channels).reduce((s, c) => Math.max(s, num(c.searches)), 0);
    const healthy = Object.values(channels).filter((c) => c.healthy).length;

    $("metric-tenants").textContent = fmtInt(totals.tenants ?? tenants.length);
    $("metric-tenants-sub").textContent = tenants
      .slice(0, 3)
      .map((t) => t.name)
      .join(", ");
    $("metric-memories").textContent = fmtInt(memories);
    const hot = num((tiers.hot || {}).memories);
    $("metric-memories-sub").textContent = memories ? `${Math.round((100 * hot) / memories)}% hot` : "";
    $("metric-storage").textContent = fmtBytes(storage);
    $("metric-storage-sub").textContent = "in SQL, coarser when colder";
    $("metric-indexes").textContent = fmtBytes(indexBytes);
    $("metric-indexes-sub").textContent = `${Object.keys(indexes).length} indexes`;
    $("metric-searches").textContent = fmtInt(searches);
    $("metric-searches-sub").textContent = `${healthy}/${Object.keys(channels).length} channels healthy`;
    const runList = runs || (stats.lifecycle || {}).runs || [];
    $("metric-runs").textContent = fmtInt(runList.length) + (runList.length >= RUN_LIMIT ? "+" : "");
    const last = runList[0];
    $("metric-runs-sub").textContent = last ? `last ${fmtTime(last.started_at)}` : "none yet";
  }

  // ---- tier chart (inline SVG) ---------------------------------------------------------

  // The axis top: four equal whole-number steps of 1, 2, 2.5 or 5 times a power of ten.
  function niceMax(value) {
    if (value <= 0) return 4;
    const raw = value / 4;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const steps = [1, 2, 2.5, 5, 10].map((s) => s * magnitude).filter((s) => Number.isInteger(s));
    const step = steps.find((s) => s >= raw) ?? 1;
    return Math.max(4, step * 4);
  }

  function renderTierChart(stats) {
    const chart = $("tier-chart");
    chart.replaceChildren();
    const tiers = { ...(stats.tiers || {}) };
    for (const tier of TIER_ORDER) tiers[tier] = tiers[tier] || { memories: 0, bytes: 0 };
    const names = ordered(Object.keys(tiers), TIER_ORDER);
    const width = 520;
    const height = 260;
    const left = 44;
    const right = 12;
    const top = 18;
    const bottom = 48;
    const plotH = height - top - bottom;
    const plotW = width - left - right;
    const max = niceMax(Math.max(...names.map((n) => num(tiers[n].memories))));
    for (let i = 0; i <= 4; i += 1) {
      const value = (max * i) / 4;
      const y = top + plotH - (plotH * i) / 4;
      chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
      chart.append(
        svg("text", { x: left - 8, y: y + 4, class: "axis", "text-anchor": "end" }, fmtInt(value)),
      );
    }
    const slot = plotW / names.length;
    const barW = Math.min(72, slot * 0.6);
    names.forEach((name, i) => {
      const value = num(tiers[name].memories);
      const h = (plotH * value) / max;
      const x = left + slot * i + (slot - barW) / 2;
      const y = top + plotH - h;
      const bar = svg("rect", {
        x,
        y,
        width: barW,
        height: Math.max(h, 0),
        rx: 3,
        class: `bar tier-${TIER_ORDER.includes(name) ? name : "other"}`,
        "data-tier": name,
        "data-value": value,
      });
      bar.append(svg("title", {}, `${name}: ${fmtInt(value)} memories, ${fmtBytes(tiers[name].bytes)}`));
      chart.append(bar);
      chart.append(
        svg("text", { x: x + barW / 2, y: y - 6, class: "value", "text-anchor": "middle" }, fmtInt(value)),
      );
      const cx = left + slot * i + slot / 2;
      chart.append(svg("text", { x: cx, y: height - bottom + 18, class: "label", "text-anchor": "middle" }, name));
      chart.append(
        svg(
          "text",
          { x: cx, y: height - bottom + 34, class: "axis", "text-anchor": "middle" },
          fmtBytes(tiers[name].bytes),
        ),
      );
    });
    chart.append(svg("line", { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, class: "baseline" }));
  }

  // ---- tables --------------------------------------------------------------------------

  function renderChannels(stats) {
    const channels = stats.channels || {};
    const indexes = stats.indexes || {};
    const names = ordered([...new Set([...Object.keys(channels), ...Object.keys(indexes)])], CHANNEL_ORDER);
    if (names.length) knownChannels = names.filter((n) => n in channels || CHANNEL_ORDER.includes(n));
    const body = $("channels-table").tBodies[0];
    body.replaceChildren(
      ...names.map((name) => {
        const c = channels[name] || {};
        const index = indexes[name] || {};
        const status =
          c.healthy === undefined
            ? el("span", { class: "badge", text: "n/a" })
            : el("span", { class: `badge ${c.healthy ? "ok" : "bad"}`, text: c.healthy ? "healthy" : "down" });
        if (num(c.failures) > 0) status.title = `${fmtInt(c.failures)} failed or late searches`;
        return el(
          "tr",
          { "data-channel": name },
          el("td", { text: name }),
          el("td", {}, status),
          el("td", { class: "num", text: index.entries === undefined ? "–" : fmtInt(index.entries) }),
          el("td", { class: "num", text: index.bytes === undefined ? "–" : fmtBytes(index.bytes) }),
          el("td", { class: "num", text: fmtMs(c.p50_ms) }),
          el("td", { class: "num", text: fmtMs(c.p95_ms) }),
          el("td", { class: "num", text: c.searches === undefined ? "–" : fmtInt(c.searches) }),
        );
      }),
    );
    renderChannelChoices();
  }

  function renderTenants(stats, tenantList) {
    const byName = new Map();
    for (const t of tenantList || []) byName.set(t.name, { ...t });
    for (const t of stats.tenants || []) byName.set(t.name, { ...(byName.get(t.name) || {}), ...t });
    const tenants = [...byName.values()].sort((a, b) => num(b.memories) - num(a.memories) || a.name.localeCompare(b.name));
    const body = $("tenants-table").tBodies[0];
    body.replaceChildren(
      ...tenants.map((t) => {
        const tiers = t.tiers || {};
        const total = num(t.memories);
        const mix = el("div", { class: "mix", title: TIER_ORDER.map((k) => `${k} ${num(tiers[k])}`).join(", ") });
        for (const tier of TIER_ORDER) {
          const share = total ? num(tiers[tier]) / total : 0;
          if (!share) continue;
          const part = el("span", { class: `tier-${tier}` });
          part.style.width = `${(100 * share).toFixed(2)}%`;
          mix.append(part);
        }
        return el(
          "tr",
          { "data-tenant": t.name },
          el("td", { text: t.name }),
          el("td", { class: "num", text: fmtInt(total) }),
          ...TIER_ORDER.map((k) => el("td", { class: "num", text: tiers[k] === undefined ? "–" : fmtInt(tiers[k]) })),
          el("td", { class: "wide" }, mix),
        );
      }),
    );
    for (const id of ["run-tenant", "pg-tenant", "keys-tenant"]) fillTenantSelect($(id), tenants.map((t) => t.name), id === "run-tenant");
  }

  function fillTenantSelect(select, names, withAll) {
    const current = select.value;
    const options = names.map((n) => el("option", { value: n, text: n }));
    if (withAll) options.unshift(el("option", { value: "", text: "All tenants" }));
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  function renderRuns(runs) {
    const body = $("runs-table").tBodies[0];
    $("runs-empty").hidden = runs.length > 0;
    body.replaceChildren(
      ...runs.map((run) => {
        const moves = Object.entries(run.moves || {})
          .filter(([, n]) => num(n) > 0)
          .map(([k, n]) => `${k.replace("->", " → ")} ${fmtInt(n)}`)
          .join(", ");
        const bytes =
          run.bytes_before === undefined || run.bytes_before === null
            ? "–"
            : `${fmtBytes(run.bytes_before)} → ${fmtBytes(run.bytes_after)}`;
        const status = el("span", { class: `badge status-${run.status}`, text: run.status || "?" });
        if (run.error) status.title = run.error;
        return el(
          "tr",
          { "data-run": run.id, class: run.id === lastRunId ? "fresh" : undefined },
          el("td", { text: fmtTime(run.started_at) }),
          el("td", { text: tenantName(run) }),
          el(
            "td",
            {},
            el("span", { class: `badge ${run.dry_run ? "dry" : "applied"}`, text: run.dry_run ? "dry run" : "applied" }),
            run.trigger ? el("div", { class: "muted small", text: `by ${run.trigger}` }) : null,
          ),
          el("td", {}, status),
          el("td", { class: "num", text: fmtInt(run.examined) }),
          el("td", { class: "num", text: fmtInt(run.changed) }),
          el("td", { class: "moves", text: moves || "–" }),
          el("td", { class: "num", text: fmtInt(run.merged) }),
          el("td", { class: "num", text: fmtInt(run.contradictions) }),
          el("td", { class: "num", text: bytes }),
          el("td", { class: "num", text: fmtMs(run.duration_ms) }),
        );
      }),
    );
  }

  // ---- loading -------------------------------------------------------------------------

  async function load() {
    document.body.dataset.state = "loading";
    const [stats, tenants, runs] = await Promise.allSettled([
      api("GET", "/v1/admin/stats"),
      api("GET", "/v1/admin/tenants"),
      api("GET", `/v1/admin/lifecycle/runs?limit=${RUN_LIMIT}`),
    ]);
    const failures = [stats, tenants, runs].filter((r) => r.status === "rejected").map((r) => r.reason);
    const denied = failures.find((e) => e.status === 401 || e.status === 403);
    if (denied) {
      signOut(denied.message);
      return;
    }
    const statsData = stats.status === "fulfilled" ? stats.value : {};
    const tenantItems = tenants.status === "fulfilled" ? tenants.value.items || [] : [];
    const runItems =
      runs.status === "fulfilled" ? runs.value.items || [] : (statsData.lifecycle || {}).runs || [];
    renderOverview(statsData, runItems);
    renderTierChart(statsData);
    renderChannels(statsData);
    renderTenants(statsData, tenantItems);
    renderRuns(runItems);
    await loadKeys();
    showError($("error-banner"), [...new Set(failures.map((e) => e.message))].join(" · "));
    $("updated-at").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.state = failures.length ? "partial" : "ready";
  }

  async function runDry() {
    const button = $("run-dry");
    const tenant = $("run-tenant").value;
    button.disabled = true;
    $("run-status").textContent = "Running a dry lifecycle pass…";
    try {
      const body = { dry_run: true };
      if (tenant) body.tenant = tenant;
      const run = await api("POST", "/v1/admin/lifecycle/runs", body);
      lastRunId = run.id;
      $("run-status").textContent =
        `Dry run ${run.status}: examined ${fmtInt(run.examined)}, would change ${fmtInt(run.changed)}` +
        (run.error ? ` (${run.error})` : "") + ". Nothing was written.";
      await load();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return signOut(err.message);
      $("run-status").textContent = "";
      showError($("error-banner"), err.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---- API keys ------------------------------------------------------------------------

  const keysPath = (tenant) => `/v1/admin/tenants/${encodeURIComponent(tenant)}/keys`;

  function renderKeys(keys) {
    $("keys-empty").hidden = keys.length > 0;
    $("keys-table").tBodies[0].replaceChildren(
      ...keys.map((k) => {
        const bound = [k.user_id != null && `user ${k.user_id}`, k.agent_id != null && `agent ${k.agent_id}`].filter(Boolean).join(" · ");
        const rate = k.rate_limit
          ? `${fmtScore(k.rate_limit.per_second)}/s` + (k.rate_limit.burst != null ? `, burst ${k.rate_limit.burst}` : "")
          : "server default";
        const revoke = el("button", { type: "button", class: "danger", text: "Revoke", "data-key": k.id });
        revoke.addEventListener("click", () => revokeKey(k));
        return el(
          "tr",
          { "data-key": k.id, class: k.revoked_at ? "revoked" : null },
          el("td", { text: k.name || "–" }),
          el("td", {}, el("code", { text: `${k.prefix}…` })),
          el("td", { text: (k.scopes || []).join(", ") }),
          el("td", { text: bound || "–" }),
          el("td", { text: rate }),
          el("td", { text: fmtTime(k.created_at) }),
          el("td", {}, el("span", { class: `badge ${k.revoked_at ? "bad" : "ok"}`, text: k.revoked_at ? "revoked" : "active" })),
          el("td", {}, k.revoked_at ? null : revoke),
        );
      }),
    );
  }

  async function loadKeys() {
    const tenant = $("keys-tenant").value;
    showError($("key-error"), "");
    if (!tenant) return renderKeys([]);
    try {
      renderKeys((await api("GET", keysPath(tenant))).items || []);
    } catch (err) {
      if (err.status === 401 || err.status === 403) return signOut(err.message);
      showError($("key-error"), err.message);
    }
  }

  async function createKey(event) {
    event.preventDefault();
    const tenant = $("keys-tenant").value;
    showError($("key-error"), "");
    $("key-secret").hidden = true;
    if (!tenant) return showError($("key-error"), "Pick a tenant first.");
    const scopes = [...$("key-scopes").querySelectorAll("input:checked")].map((i) => i.value);
    if (!scopes.length) return showError($("key-error"), "A key needs at least one scope.");
    const body = { name: $("key-name").value.trim(), scopes };
    const user = $("key-user").value.trim();
    const agent = $("key-agent").value.trim();
    if (user) body.user_id = user;
    if (agent) body.agent_id = agent;
    const rate = $("key-rate").value.trim();
    const burst = $("key-burst").value.trim();
    if (rate) body.rate_limit = { per_second: Number(rate), ...(burst ? { burst: Number(burst) } : {}) };
    else if (burst) return showError($("key-error"), "A burst needs a rate.");
    const button = $("key-create");
    button.disabled = true;
    try {
      const created = await api("POST", keysPath(tenant), body);
      $("key-secret-value").textContent = created.key;
      $("key-secret").hidden = false;
      $("key-form").reset();
      await loadKeys();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return signOut(err.message);
      showError($("key-error"), err.message);
    } finally {
      button.disabled = false;
    }
  }

  async function revokeKey(key) {
    if (!window.confirm(`Revoke key ${key.prefix}… (${key.name || "unnamed"})? It stops working at once.`)) return;
    try {
      await api("DELETE", `/v1/admin/keys/${encodeURIComponent(key.id)}`);
      await loadKeys();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return signOut(err.message);
      showError($("key-error"), err.message);
    }
  }

  // ---- search playground ---------------------------------------------------------------

  function renderChannelChoices() {
    const box = $("pg-channels");
    const checked = new Set(
      [...box.querySelectorAll("input:checked")].map((i) => i.value),
    );
    const fresh = box.querySelectorAll("input").length === 0;
    const legend = box.querySelector("legend");
    box.replaceChildren(
      legend,
      ...knownChannels.map((name) => {
        const input = el("input", { type: "checkbox", value: name, name: "channel" });
        input.checked = fresh || checked.has(name);
        return el("label", { class: "check" }, input, ` ${name}`);
      }),
    );
  }

  function renderWhy(why) {
    if (!why || typeof why !== "object" || !Object.keys(why).length) {
      return el("span", { class: "muted", text: "–" });
    }
    const list = el("dl", { class: "why" });
    for (const [key, value] of Object.entries(why)) {
      let text;
      if (Array.isArray(value)) text = value.map((v) => (typeof v === "number" ? fmtScore(v) : String(v))).join(key === "path" ? " → " : ", ");
      else if (typeof value === "number") text = fmtScore(value);
      else if (value && typeof value === "object") text = JSON.stringify(value);
      else text = String(value);
      list.append(el("dt", { text: key.replaceAll("_", " ") }), el("dd", { text }));
    }
    return list;
  }

  function renderResults(response, channels) {
    const meta = $("pg-meta");
    const timings = response.timings_ms || {};
    const parts = [`${response.results.length} result${response.results.length === 1 ? "" : "s"} in ${fmtMs(timings.total)}`];
    for (const name of ordered(Object.keys(timings).filter((k) => k !== "total"), ["embed", ...CHANNEL_ORDER])) {
      parts.push(`${name} ${fmtMs(timings[name])}`);
    }
    const metaChildren = [el("span", { text: parts.join(" · ") })];
    if (response.weights) {
      const weights = ordered(Object.keys(response.weights), CHANNEL_ORDER)
        .map((k) => `${k} ${fmtScore(response.weights[k])}`)
        .join(", ");
      metaChildren.push(el("span", { text: `weights: ${weights}` }));
    }
    for (const [name, reason] of Object.entries(response.missing_channels || {})) {
      metaChildren.push(el("span", { class: "badge bad", text: `${name} missing: ${reason}` }));
    }
    meta.replaceChildren(...metaChildren);
    if (!response.results.length) {
      $("pg-results").replaceChildren(el("li", { class: "muted empty", text: "No memory matched this query." }));
      return;
    }

    $("pg-results").replaceChildren(
      ...response.results.map((hit, i) => {
        const m = hit.memory;
        const scope = [m.user_id && `user ${m.user_id}`, m.agent_id && `agent ${m.agent_id}`, m.session_id && `session ${m.session_id}`]
          .filter(Boolean)
          .join(" · ");
        const head = el(
          "div",
          { class: "result-head" },
          el("span", { class: "rank", text: `#${i + 1}` }),
          el("span", { class: "score", text: `fused ${fmtScore(hit.score)}` }),
          el("span", { class: `badge tier-badge tier-${m.tier}`, text: m.tier }),
          el("span", { class: "muted small", text: [scope, `occurred ${fmtTime(m.occurred_at)}`].filter(Boolean).join(" · ") }),
        );
        const rows = ordered([...new Set([...channels, ...Object.keys(hit.channels || {})])], CHANNEL_ORDER).map((name) => {
          const rank = (hit.channels || {})[name];
          const why = (hit.explanation || {})[name];
          return el(
            "tr",
            { class: rank ? "hit" : "miss", "data-channel": name },
            el("th", { scope: "row", text: name }),
            el("td", { class: "num", text: rank ? `#${rank.rank}` : "–" }),
            el("td", { class: "num", text: rank ? fmtScore(rank.score) : "–" }),
            el("td", { class: "explanation" }, rank ? renderWhy(why) : el("span", { class: "muted", text: "not found by this channel" })),
          );
        });
        const table = el(
          "table",
          { class: "data per-channel" },
          el("thead", {}, el("tr", {}, el("th", { text: "Channel" }), el("th", { class: "num", text: "Rank" }), el("th", { class: "num", text: "Score" }), el("th", { text: "Why it matched" }))),
          el("tbody", {}, ...rows),
        );
        return el("li", { class: "result", "data-memory": m.id }, head, el("p", { class: "content", text: m.content }), table);
      }),
    );
  }

  async function search(event) {
    event.preventDefault();
    const tenant = $("pg-tenant").value;
    const channels = [...$("pg-channels").querySelectorAll("input:checked")].map((i) => i.value);
    showError($("pg-error"), "");
    if (!tenant) return showError($("pg-error"), "Pick a tenant first.");
    if (!channels.length) return showError($("pg-error"), "Pick at least one channel.");
    const body = {
      query: $("pg-query").value,
      limit: Number($("pg-limit").value) || 5,
      explain: true,
    };
    if (channels.length !== knownChannels.length) body.channels = channels;
    const user = $("pg-user").value.trim();
    if (user) body.user_id = user;
    const button = $("pg-search");
    button.disabled = true;
    $("pg-results").setAttribute("aria-busy", "true");
    try {
      const response = await api("POST", `/v1/admin/tenants/${encodeURIComponent(tenant)}/search`, body);
      renderResults(response, channels);
    } catch (err) {
      if (err.status === 401) return signOut(err.message);
      $("pg-results").replaceChildren();
      $("pg-meta").replaceChildren();
      showError($("pg-error"), err.message);
    } finally {
      button.disabled = false;
      $("pg-results").removeAttribute("aria-busy");
    }
  }

  // ---- wiring --------------------------------------------------------------------------

  function start() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      adminKey = $("admin-key").value.trim();
      $("admin-key").value = "";
      if (!adminKey) return;
      sessionStorage.setItem(KEY_STORAGE, adminKey);
      showError($("login-error"), "");
      signedIn(true);
      load();
    });
    $("sign-out").addEventListener("click", () => signOut(""));
    $("refresh").addEventListener("click", () => load());
    $("run-dry").addEventListener("click", runDry);
    $("playground").addEventListener("submit", search);
    $("keys-tenant").addEventListener("change", () => {
      $("key-secret").hidden = true;
      loadKeys();
    });
    $("key-form").addEventListener("submit", createKey);
    renderChannelChoices();
    if (adminKey) {
      signedIn(true);
      load();
    } else {
      signedIn(false);
    }
  }

  start();
})();
