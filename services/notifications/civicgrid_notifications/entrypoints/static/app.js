// CivicGrid phone page: feed, unread badge, live updates over SSE (fetch, so the token stays in a header).
"use strict";
const state = { token: null, member: null, items: new Map(), cursor: null, lastEventId: null, category: "" };
const $ = (id) => document.getElementById(id);

function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token }, options.headers || {});
  if (options.body) headers["Content-Type"] = "application/json";
  return fetch(path.replace(/^\//, "../"), Object.assign({}, options, { headers }));
}

function setStatus(text, live) {
  $("status").textContent = text;
  document.body.dataset.live = live ? "1" : "0";
}

function setBadge(count) {
  $("badge").textContent = String(count);
  document.title = count ? `(${count}) 社区通知` : "社区通知";
}

function render() {
  const list = $("feed");
  const items = [...state.items.values()]
    .filter((i) => i.state !== "archived" && (!state.category || i.category === state.category))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.className = `entry ${item.state} priority-${item.priority}`;
    li.dataset.id = item.id;
    li.dataset.state = item.state;
    const h = document.createElement("h2"); h.textContent = item.title;
    const p = document.createElement("p"); p.textContent = item.body;
    const meta = document.createElement("div"); meta.className = "meta";
    const when = document.createElement("time"); when.textContent = new Date(item.created_at).toLocaleString("zh-CN");
    meta.append(when);
    if (item.link) { const a = document.createElement("a"); a.href = item.link; a.textContent = "查看"; meta.append(a); }
    if (item.state === "unseen" || item.state === "seen") {
      const b = document.createElement("button"); b.textContent = "标为已读"; b.className = "mark-read";
      b.addEventListener("click", () => mark(item.id, "read"));
      meta.append(b);
    }
    li.append(h, p, meta);
    return li;
  }));
}

function upsert(item) { state.items.set(item.id, item); }

let renderPending = false;
function scheduleRender() {
  // A mark-all of many entries arrives as many events: draw once per frame, not once per event.
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => { renderPending = false; render(); }, 0);
}

async function loadPage(reset) {
  const params = new URLSearchParams({ limit: "20" });
  if (!reset && state.cursor) params.set("cursor", state.cursor);
  if (state.category) params.set("category", state.category);
  const res = await api(`/members/${encodeURIComponent(state.member)}/feed?${params}`);
  if (!res.ok) throw new Error(`feed: HTTP ${res.status}`);
  const page = await res.json();
  if (reset) {
    state.items.clear();
    // The stream resumes from here: every change after this page was read is replayed.
    state.lastEventId = String(page.seq);
  }
  page.items.forEach(upsert);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  setBadge(page.unread);
  render();
}

async function mark(id, newState) {
  const res = await api(`/members/${encodeURIComponent(state.member)}/feed/${encodeURIComponent(id)}/state`, {
    method: "POST", body: JSON.stringify({ state: newState }),
  });
  if (res.ok) { upsert(await res.json()); render(); }
}

function handleEvent(type, data, id) {
  if (id) state.lastEventId = id;
  const payload = JSON.parse(data);
  if (type === "entry") { upsert(payload.item); scheduleRender(); }
  if (type === "audiences") loadPage(true).catch(() => {});  // new posts, grids...: their notices too
  if (typeof payload.unread === "number") setBadge(payload.unread);
}

async function stream() {
  for (;;) {
    try {
      // Resume from the last event seen (or the page read); with nothing to resume from, refetch first.
      if (!state.lastEventId) await loadPage(true);
      const headers = { Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const res = await api(`/members/${encodeURIComponent(state.member)}/stream`, { headers });
      if (res.status === 401 || res.status === 403) { setStatus("无权访问", false); return; }
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      setStatus("实时", true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
          let type = "message", data = "", id = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
            else if (line.startsWith("id:")) id = line.slice(3).trim();
          }
          if (data) handleEvent(type, data, id);
        }
      }
    } catch (e) { /* reconnect below */ }
    setStatus("重新连接…", false);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function enablePush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) { alert("此浏览器不支持推送"); return; }
  const reg = await navigator.serviceWorker.register("sw.js");
  const { public_key } = await (await api("/push/vapid-public-key")).json();
  const raw = atob(public_key.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - public_key.length % 4) % 4));
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: Uint8Array.from(raw, (c) => c.charCodeAt(0)) });
  await api(`/members/${encodeURIComponent(state.member)}/push-subscriptions`, { method: "POST", body: JSON.stringify(sub.toJSON()) });
  $("push").textContent = "推送已开启";
}

async function start() {
  const res = await api("/me");
  if (!res.ok) { localStorage.removeItem("civicgrid.token"); return showSignin(`令牌无效（HTTP ${res.status}）`); }
  const me = await res.json();
  if (!me.person_id) return showSignin("此令牌不属于成员（需要 --role member）");
  state.member = me.person_id;
  $("signin").hidden = true; $("app").hidden = false;
  await loadPage(true);
  stream();
}

function showSignin(error) {
  $("signin").hidden = false; $("app").hidden = true;
  $("signin-error").textContent = error || "";
}

function signin(token) {
  state.token = token.trim();
  localStorage.setItem("civicgrid.token", state.token);
  start().catch((e) => showSignin(String(e)));
}

window.addEventListener("DOMContentLoaded", () => {
  $("signin-button").addEventListener("click", () => signin($("token-input").value));
  $("signout").addEventListener("click", () => { localStorage.removeItem("civicgrid.token"); location.reload(); });
  $("read-all").addEventListener("click", async () => {
    await api(`/members/${encodeURIComponent(state.member)}/feed/read-all`, { method: "POST", body: JSON.stringify(state.category ? { category: state.category } : {}) });
  });
  $("more").addEventListener("click", () => loadPage(false));
  $("push").addEventListener("click", () => enablePush().catch((e) => alert(e)));
  $("category").addEventListener("change", (e) => { state.category = e.target.value; loadPage(true); });
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname);
  const token = fromHash || localStorage.getItem("civicgrid.token");
  if (token) signin(token); else showSignin();
});
