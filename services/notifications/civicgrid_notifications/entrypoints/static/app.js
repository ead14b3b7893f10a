// CivicGrid phone app: sign-in by SMS code, feed with live updates (SSE over fetch, so the token stays in
// a header), archive, settings, the in-app view of a notice; installable, opens offline (sw.js).
"use strict";

const CATEGORY_LABELS = { appointment: "任职", request: "诉求", supervision: "督办", team: "团队", notice: "公告" };
const PRIORITY_LABELS = { low: "低", normal: "普通", high: "重要", critical: "紧急" };
const CHANNEL_LABELS = { web_push: "浏览器推送", sms: "短信", wechat: "微信" };
const MATTER_LABELS = {
  assembly_rules: "制定和修改业主大会议事规则", management_covenant: "制定和修改管理规约",
  owners_committee: "选举或更换业主委员会成员", property_manager: "选聘和解聘物业服务企业或其他管理人",
  use_maintenance_fund: "使用建筑物及其附属设施的维修资金", raise_maintenance_fund: "筹集建筑物及其附属设施的维修资金",
  rebuild: "改建、重建建筑物及其附属设施", common_parts_use: "改变共有部分的用途或利用共有部分从事经营活动",
  other: "有关共有和共同管理权利的其他重大事项",
};
const CHOICE_LABELS = { approve: "同意", oppose: "反对", abstain: "弃权" };
const OUTCOME_LABELS = { adopted: "通过", rejected: "未通过", not_quorate: "参与表决的业主不足，未作出决定" };
const MEASURE_LABELS = {
  participation_area: "参与表决的专有面积 / 全体专有面积", participation_owners: "参与表决的业主人数 / 全体业主人数",
  approval_area: "同意的专有面积 / 参与表决的专有面积", approval_owners: "同意的业主人数 / 参与表决的业主人数",
};
const MEETING_TYPE_LABELS = {
  representatives_meeting: "居(村)民代表会议", villager_group_meeting: "村民小组会议(村湾夜话)", building_meeting: "楼栋会议",
  tripartite_joint_meeting: "三方联席会", property_salon: "物业沙龙", decision_hearing: "决策听证会",
  democratic_appraisal: "民主评议会", street_consultation: "乡镇(街道)协商会",
};
const MEETING_STATUS_LABELS = { convened: "已召集", held: "已召开", closed: "已结束", cancelled: "已取消" };
const AUTH_KEY = "civicgrid.auth";
const MEMBER_KEY = "civicgrid.member";

const state = {
  auth: null, // {access, refresh, expiresAt}
  member: null,
  items: new Map(),
  cursor: null,
  lastEventId: null,
  category: "",
  view: "feed", // feed | archive
  streaming: false,
  offline: false,
};
const $ = (id) => document.getElementById(id);

// -- tokens -------------------------------------------------------------------------------------------

function saveAuth(auth) {
  state.auth = auth;
  if (auth) localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  else localStorage.removeItem(AUTH_KEY);
  scheduleRefresh();
}

function loadAuth() {
  try { return JSON.parse(localStorage.getItem(AUTH_KEY) || "null"); } catch (e) { return null; }
}

function fromTokens(t) {
  return { access: t.access_token, refresh: t.refresh_token, expiresAt: Date.now() + t.expires_in * 1000 };
}

let refreshing = null;
function refreshTokens() {
  // One refresh at a time: a refresh token is good for one use only.
  if (!state.auth || !state.auth.refresh) return Promise.resolve(false);
  if (!refreshing) {
    const used = state.auth.refresh;
    refreshing = fetch("../auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: used }),
    }).then(async (res) => {
      if (res.ok) { saveAuth(fromTokens(await res.json())); return true; }
      if (res.status === 401 && state.auth && state.auth.refresh === used) saveAuth(null);
      return false;
    }).catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!state.auth || !state.auth.refresh || !state.auth.expiresAt) return;
  const wait = Math.max(5000, state.auth.expiresAt - Date.now() - 60000);
  refreshTimer = setTimeout(() => refreshTokens(), wait);
}

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (state.auth) headers.Authorization = "Bearer " + state.auth.access;
  if (options.body) headers["Content-Type"] = "application/json";
  const res = await fetch(path.replace(/^\//, "../"), Object.assign({}, options, { headers }));
  if (res.status === 401 && !retried && state.auth && state.auth.refresh && await refreshTokens()) {
    return api(path, options, true);
  }
  if (res.status === 401 && !retried) sessionExpired();
  return res;
}

// deliberation's API, called directly with the member's token (it allows this app's origin by CORS).
async function dapi(path, options = {}, retried = false) {
  if (!state.deliberationUrl) throw new Error("no deliberation service configured");
  const headers = Object.assign({}, options.headers || {});
  if (state.auth) headers.Authorization = "Bearer " + state.auth.access;
  if (options.body) headers["Content-Type"] = "application/json";
  const res = await fetch(state.deliberationUrl + path, Object.assign({}, options, { headers, credentials: "omit" }));
  if (res.status === 401 && !retried && state.auth && state.auth.refresh && await refreshTokens()) {
    return dapi(path, options, true);
  }
  if (res.status === 401 && !retried) sessionExpired();
  return res;
}

async function loadConfig() {
  try {
    const res = await fetch("../app-config");
    if (res.ok) state.deliberationUrl = (await res.json()).deliberation_url || null;
  } catch (e) { /* offline: no 议事 */ }
  document.querySelector("#tabs a[data-tab='deliberation']").hidden = !state.deliberationUrl;
}

function sessionExpired() {
  saveAuth(null);
  showSignin("登录已过期，请重新登录");
}

const memberPath = (rest) => `/members/${encodeURIComponent(state.member)}${rest}`;

// -- header -------------------------------------------------------------------------------------------

function setStatus(text, live) {
  $("status").textContent = text;
  document.body.dataset.live = live ? "1" : "0";
}

function setBadge(count) {
  $("badge-count").textContent = String(count);
  $("badge").hidden = false;
  document.title = count ? `(${count}) 社区通知` : "社区通知";
}

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

// -- times and labels ---------------------------------------------------------------------------------

function relativeTime(iso, now = Date.now()) {
  const then = new Date(iso).getTime();
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return "刚刚";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}分钟前`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}小时前`;
  const days = Math.floor(hours / 24);
  if (days === 1) return "昨天";
  if (days < 7) return `${days}天前`;
  const d = new Date(then);
  return new Date(now).getFullYear() === d.getFullYear()
    ? `${d.getMonth() + 1}月${d.getDate()}日`
    : `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`;
}

function absoluteTime(iso) { return new Date(iso).toLocaleString("zh-CN", { hour12: false }); }

function timeElement(iso) {
  const t = document.createElement("time");
  t.dateTime = iso;
  t.title = absoluteTime(iso);
  t.textContent = relativeTime(iso);
  return t;
}

function tag(text, cls) {
  const span = document.createElement("span");
  span.className = `tag ${cls}`;
  span.textContent = text;
  return span;
}

function labelsOf(item) {
  const out = [tag(CATEGORY_LABELS[item.category] || item.category, `cat-${item.category}`)];
  if (item.priority === "high" || item.priority === "critical") {
    out.push(tag(PRIORITY_LABELS[item.priority], `priority-${item.priority}`));
  }
  if (item.state === "unseen" || item.state === "seen") out.push(tag("未读", "state-unread"));
  return out;
}

// -- feed ---------------------------------------------------------------------------------------------

function visible(item) {
  if (state.category && item.category !== state.category) return false;
  return state.view === "archive" ? item.state === "archived" : item.state !== "archived";
}

function render() {
  const list = $("feed");
  const items = [...state.items.values()].filter(visible)
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
  list.replaceChildren(...items.map(entryElement));
  $("empty").hidden = items.length > 0;
  $("empty").textContent = state.view === "archive" ? "没有归档的通知" : "暂无通知";
}

// A notice about a vote or a meeting links to its view in this app (#/vote/<id>, #/meeting/<id>).
function appTarget(item) {
  const m = /#\/(vote|meeting)\/([A-Za-z0-9][A-Za-z0-9._:-]{0,63})$/.exec(item.link || "");
  if (!m) return null;
  return { hash: `#/${m[1]}/${m[2]}`, text: m[1] === "vote" ? "去投票" : "查看会议" };
}

function entryElement(item) {
  const li = document.createElement("li");
  li.className = `entry ${item.state} priority-${item.priority}`;
  li.dataset.id = item.id;
  li.dataset.state = item.state;
  const h = document.createElement("h3"); h.textContent = item.title;
  const labels = document.createElement("p"); labels.className = "labels"; labels.append(...labelsOf(item));
  const p = document.createElement("p"); p.textContent = item.body;
  const meta = document.createElement("div"); meta.className = "meta";
  meta.append(timeElement(item.created_at));
  const open = document.createElement("a");
  open.href = `#/item/${encodeURIComponent(item.id)}`;
  open.className = "open";
  open.textContent = "查看";
  open.setAttribute("aria-label", `查看：${item.title}`);
  meta.append(open);
  const target = appTarget(item);
  if (target) {
    const go = document.createElement("a");
    go.href = target.hash; go.className = "go"; go.textContent = target.text;
    go.setAttribute("aria-label", `${target.text}：${item.title}`);
    meta.append(go);
  }
  if (item.state === "unseen" || item.state === "seen") {
    meta.append(actionButton("标为已读", "mark-read", item, () => mark(item.id, "read")));
  }
  if (item.state !== "archived") {
    meta.append(actionButton("归档", "archive", item, () => mark(item.id, "archived")));
  }
  li.append(h, labels, p, meta);
  return li;
}

function actionButton(text, cls, item, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.className = cls;
  b.setAttribute("aria-label", `${text}：${item.title}`);
  b.addEventListener("click", onClick);
  return b;
}

function upsert(item) { state.items.set(item.id, item); }

let renderPending = false;
function scheduleRender() {
  // A mark-all of many entries arrives as many events: draw once, not once per event.
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => { renderPending = false; render(); }, 0);
}

async function loadPage(reset) {
  const params = new URLSearchParams({ limit: "20" });
  if (!reset && state.cursor) params.set("cursor", state.cursor);
  if (state.category) params.set("category", state.category);
  if (state.view === "archive") params.set("state", "archived");
  const res = await api(memberPath(`/feed?${params}`));
  if (!res.ok) throw new Error(`feed: HTTP ${res.status}`);
  const page = await res.json();
  state.offline = res.headers.get("X-Served-From") === "offline-cache";
  $("offline-note").hidden = !state.offline;
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
  const res = await api(memberPath(`/feed/${encodeURIComponent(id)}/state`), {
    method: "POST", body: JSON.stringify({ state: newState }),
  });
  if (res.ok) {
    const item = await res.json();
    upsert(item); render();
    if (newState === "archived") announce(`已归档：${item.title}`);
    return item;
  }
  return null;
}

function handleEvent(type, data, id) {
  if (id) state.lastEventId = id;
  const payload = JSON.parse(data);
  if (type === "entry") {
    const known = state.items.has(payload.item.id);
    upsert(payload.item);
    scheduleRender();
    if (!known && payload.item.state === "unseen") announce(`新通知：${payload.item.title}`);
    if (state.screen === "item" && state.itemId === payload.item.id) showItemHeader(payload.item);
  }
  if (type === "audiences") loadPage(true).catch(() => {}); // new posts, grids...: their notices too
  if (typeof payload.unread === "number") setBadge(payload.unread);
}

async function stream() {
  if (state.streaming) return;
  state.streaming = true;
  while (state.auth && state.member) {
    try {
      // Resume from the last event seen (or the page read); with nothing to resume from, refetch first.
      if (!state.lastEventId) await loadPage(true);
      const headers = { Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const res = await api(memberPath("/stream"), { headers });
      if (res.status === 401 || res.status === 403) { setStatus("无权访问", false); break; }
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
    if (!state.auth) break;
    setStatus(navigator.onLine === false ? "离线" : "重新连接…", false);
    await new Promise((r) => setTimeout(r, 1000));
  }
  state.streaming = false;
}

// -- push ---------------------------------------------------------------------------------------------

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try { return await navigator.serviceWorker.register("sw.js"); } catch (e) { return null; }
}

async function enablePush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) { announce("此浏览器不支持推送"); return; }
  const reg = (await registerWorker()) || (await navigator.serviceWorker.ready);
  const { public_key } = await (await api("/push/vapid-public-key")).json();
  const raw = atob(public_key.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - public_key.length % 4) % 4));
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: Uint8Array.from(raw, (c) => c.charCodeAt(0)) });
  await api(memberPath("/push-subscriptions"), { method: "POST", body: JSON.stringify(sub.toJSON()) });
  $("push").textContent = "推送已开启";
}

// -- screens ------------------------------------------------------------------------------------------

function showScreen(name) {
  state.screen = name;
  document.body.dataset.screen = name;
  for (const s of ["signin", "feed", "settings", "item", "deliberation", "vote", "meeting"]) $(`screen-${s}`).hidden = s !== name;
  $("tabs").hidden = name === "signin";
  const tab = name === "feed" ? state.view : name === "vote" || name === "meeting" ? "deliberation" : name;
  for (const a of document.querySelectorAll("#tabs a")) {
    if (a.dataset.tab === tab) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

async function route() {
  if (!state.member) return;
  const hash = location.hash || "#/feed";
  const [, screen, arg] = hash.match(/^#\/([a-z]+)\/?(.*)$/) || [null, "feed", ""];
  if (screen === "settings") { showScreen("settings"); return loadSettings(); }
  if (screen === "item" && arg) { showScreen("item"); return showItem(decodeURIComponent(arg)); }
  if (screen === "deliberation") { showScreen("deliberation"); return showDeliberation(); }
  if (screen === "vote" && arg) { showScreen("vote"); return showVote(decodeURIComponent(arg)); }
  if (screen === "meeting" && arg) { showScreen("meeting"); return showMeeting(decodeURIComponent(arg)); }
  const view = screen === "archive" ? "archive" : "feed";
  const changed = view !== state.view;
  state.view = view;
  $("feed-title").textContent = view === "archive" ? "已归档" : "通知";
  showScreen("feed");
  if (changed || state.items.size === 0) await loadPage(true);
  else render();
}

// -- item view ----------------------------------------------------------------------------------------

function showItemHeader(item) {
  $("item-title").textContent = item.title;
  $("item-labels").replaceChildren(...labelsOf(item));
  $("item-body").textContent = item.body;
  const t = $("item-time");
  t.dateTime = item.created_at; t.title = absoluteTime(item.created_at); t.textContent = relativeTime(item.created_at);
  $("item-archive").hidden = item.state === "archived";
  // A link to a request is shown in the app (its status below), never as the raw resources API.
  const external = item.link && !/\/requests\//.test(item.link) && /^https?:\/\//.test(item.link);
  $("item-link").hidden = !external;
  if (external) $("item-link").href = item.link;
  const target = appTarget(item);
  $("item-app-link").hidden = !target;
  if (target) { $("item-app-link").href = target.hash; $("item-app-link").textContent = target.text; }
}

async function showItem(id) {
  state.itemId = id;
  $("item-error").textContent = "";
  $("item-request").hidden = true;
  const res = await api(memberPath(`/feed/${encodeURIComponent(id)}`));
  if (!res.ok) { $("item-title").textContent = "通知"; $("item-error").textContent = res.status === 404 ? "找不到这条通知" : `无法打开（HTTP ${res.status}）`; return; }
  const view = await res.json();
  upsert(view.item);
  showItemHeader(view.item);
  const request = view.request;
  if (request) {
    $("item-request").hidden = false;
    $("request-status").textContent = request.status_label;
    $("request-summary").textContent = request.summary ? `诉求内容：${request.summary}` : "";
    $("request-steps").replaceChildren(...request.steps.map((s) => {
      const li = document.createElement("li");
      const strong = document.createElement("strong"); strong.textContent = s.label;
      li.append(strong);
      if (s.at) { li.append(" "); li.append(timeElement(s.at)); }
      if (s.note) li.append(`：${s.note}`);
      return li;
    }));
    $("request-evaluate").hidden = !request.evaluation_requested;
  }
  $("item-title").focus(); // a screen reader starts reading at the notice
  if (view.item.state === "unseen" || view.item.state === "seen") {
    const updated = await mark(id, "read");
    if (updated) showItemHeader(updated);
  }
}

// -- 议事: votes and meetings (deliberation's API) --------------------------------------------------------

// "过半数" (more than) or "以上" (at least, the bound included), of what.
function required(t, of) { return t.strict ? `超过${of}的 ${t.share}` : `达到${of}的 ${t.share}（含）以上`; }

function ruleInWords(vote) {
  const r = vote.rules;
  const approval = vote.major ? r.major_approval : r.ordinary_approval;
  return [
    r.vote_basis === "per_owner"
      ? "每位业主一票：拥有多套房屋的业主按一票计，面积合并计算。"
      : "每套房屋（专有部分）一票，由该户的业主投出；共有的房屋由共有人中的一人投票。",
    `参与：参与表决的业主所持专有面积和人数都须${required(r.participation, "全体业主")}，否则不作决定。`,
    `通过：同意的业主所持专有面积和人数都须${required(approval, "参与表决业主")}（本事项为${vote.major ? "重大事项" : "一般事项"}）。`,
    "弃权计入参与表决，但不算同意。",
    r.silent_majority
      ? "本小区已采用“沉默从众”：未投票的业主，按已投票业主中面积和人数都占多数的一方计入；两者不一致时不计入。"
      : "本小区未采用“沉默从众”：未投票的业主不计入参与表决。",
  ];
}

function householdName(code) {
  // 420106002003-C01-B01-U1-101 → 1栋1单元101
  const m = /-B0*(\d+)-U(\d+)-(\w+)$/.exec(code);
  return m ? `${m[1]}栋${m[2]}单元${m[3]}` : code;
}

function voterName(voter) { return voter.households.map(householdName).join("、") || "本人"; }

function card(href, title, lines, tags) {
  const li = document.createElement("li");
  li.className = "card";
  const h = document.createElement("h4");
  const a = document.createElement("a"); a.href = href; a.textContent = title;
  h.append(a);
  const labels = document.createElement("p"); labels.className = "labels"; labels.append(...tags);
  li.append(h, labels, ...lines.map((text) => { const p = document.createElement("p"); p.append(...[].concat(text)); return p; }));
  return li;
}

async function showDeliberation() {
  $("deliberation-error").textContent = "";
  let votesRes, meetingsRes;
  try {
    [votesRes, meetingsRes] = await Promise.all([dapi("/me/votes"), dapi("/meetings?mine=true&limit=50")]);
  } catch (e) {
    $("deliberation-offline").hidden = navigator.onLine !== false;
    $("deliberation-error").textContent = "无法连接议事服务";
    return;
  }
  if (!votesRes.ok || !meetingsRes.ok) {
    $("deliberation-error").textContent = `无法读取议事（HTTP ${votesRes.ok ? meetingsRes.status : votesRes.status}）`;
    return;
  }
  const votes = await votesRes.json();
  const meetings = await meetingsRes.json();
  $("votes").replaceChildren(...votes.map((v) => {
    const tags = [tag(v.status === "open" ? "表决中" : "已结束", v.status === "open" ? "state-unread" : "cat-notice")];
    const lines = [];
    if (v.status === "open") {
      lines.push(["截止：", timeElement(v.closes_at)]);
      const cast = v.my_voters.filter((x) => x.choice);
      if (!v.my_voters.length) lines.push("您不是此表决的业主，可查看，不能投票");
      else if (cast.length === v.my_voters.length) lines.push(`已投票：${cast.map((x) => CHOICE_LABELS[x.choice]).join("、")}`);
      else lines.push("尚未投票");
    } else {
      lines.push(`结果：${OUTCOME_LABELS[v.outcome] || "—"}`);
    }
    return card(`#/vote/${encodeURIComponent(v.vote_id)}`, v.title, lines, tags);
  }));
  $("votes-empty").hidden = votes.length > 0;
  $("meetings").replaceChildren(...meetings.map((m) => card(
    `#/meeting/${encodeURIComponent(m.meeting_id)}`, m.title,
    [["时间：", timeElement(m.scheduled_for)]],
    [tag(MEETING_TYPE_LABELS[m.meeting_type] || m.meeting_type, "cat-appointment"), tag(MEETING_STATUS_LABELS[m.status] || m.status, "cat-notice")],
  )));
  $("meetings-empty").hidden = meetings.length > 0;
}

function setTime(el, iso) { el.dateTime = iso; el.title = absoluteTime(iso); el.textContent = absoluteTime(iso); }

function renderVote(vote) {
  state.vote = vote;
  $("vote-title").textContent = vote.title;
  $("vote-labels").replaceChildren(
    tag(vote.status === "open" ? "表决中" : "已结束", vote.status === "open" ? "state-unread" : "cat-notice"),
    tag(vote.major ? "重大事项" : "一般事项", "cat-supervision"));
  $("vote-matter").textContent = MATTER_LABELS[vote.matter] || vote.matter;
  setTime($("vote-closes"), vote.closes_at);
  $("vote-households").textContent = vote.my_households.map((h) =>
    `${householdName(h.household_code)}（${h.role === "owner" ? "业主" : h.role === "representative" ? "联系代表" : "住户"}）`).join("、") || "—";
  $("vote-rule").replaceChildren(...ruleInWords(vote).map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
  const voters = vote.my_voters;
  $("vote-ballot").textContent = !voters.length ? "您不是此表决名册上的业主，不能投票。"
    : voters.map((v) => `${voterName(v)}：${v.choice ? "已投 " + CHOICE_LABELS[v.choice] : "尚未投票"}`).join("；");
  $("vote-form").hidden = !vote.can_vote;
  $("vote-voter-row").hidden = voters.length < 2;
  const select = $("vote-voter");
  const keep = select.value;
  select.replaceChildren(...voters.map((v) => { const o = document.createElement("option"); o.value = v.voter_id; o.textContent = voterName(v); return o; }));
  if (keep && voters.some((v) => v.voter_id === keep)) select.value = keep;
  const current = voters.find((v) => v.voter_id === select.value) || voters[0];
  for (const c of Object.keys(CHOICE_LABELS)) $(`choice-${c}`).checked = !!current && current.choice === c;
  $("vote-submit").textContent = current && current.choice ? "修改投票" : "投票";
  const decision = vote.decision;
  $("vote-result").hidden = !decision;
  if (decision) {
    $("vote-outcome").textContent = OUTCOME_LABELS[decision.outcome] || decision.outcome;
    $("vote-measures").replaceChildren(...decision.measures.map((m) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.scope = "row"; th.textContent = MEASURE_LABELS[m.name] || m.name;
      const unit = m.name.endsWith("_area") ? " m²" : "";
      const cells = [`${m.numerator}${unit} / ${m.denominator}${unit} = ${m.ratio_exact}（${(m.ratio * 100).toFixed(2)}%）`,
        m.threshold.replace(">", "超过").replace("≥", "不少于"), m.met ? "达到" : "未达到"];
      tr.append(th, ...cells.map((text) => { const td = document.createElement("td"); td.textContent = text; return td; }));
      return tr;
    }));
    const side = (label, s) => { const li = document.createElement("li"); li.textContent = `${label}：${s.heads} 户/人，${s.area_m2} m²`; return li; };
    $("vote-counts").replaceChildren(side("全体", decision.eligible), side("同意", decision.approve), side("反对", decision.oppose),
      side("弃权", decision.abstain), side("未投票", decision.silent));
    $("vote-silent").textContent = decision.silent_counted_as
      ? `按“沉默从众”规则，未投票的业主计入“${CHOICE_LABELS[decision.silent_counted_as]}”。` : "";
  }
}

async function showVote(id) {
  state.voteId = id;
  $("vote-error").textContent = ""; $("vote-message").textContent = "";
  let res;
  try { res = await dapi(`/me/votes/${encodeURIComponent(id)}`); } catch (e) { $("vote-title").textContent = "业主表决"; $("vote-error").textContent = "无法连接议事服务"; return; }
  if (!res.ok) {
    $("vote-title").textContent = "业主表决";
    $("vote-form").hidden = true; $("vote-result").hidden = true;
    $("vote-error").textContent = res.status === 404 ? "找不到这项表决" : res.status === 403 ? "这项表决不属于您所在的小区" : `无法打开（HTTP ${res.status}）`;
    return;
  }
  renderVote(await res.json());
  $("vote-title").focus();
}

async function castBallot(event) {
  event.preventDefault();
  $("vote-error").textContent = ""; $("vote-message").textContent = "";
  const picked = document.querySelector("#vote-form input[name='choice']:checked");
  if (!picked) { $("vote-error").textContent = "请选择同意、反对或弃权"; return; }
  const body = { choice: picked.value };
  if (state.vote && state.vote.my_voters.length > 1) body.voter_id = $("vote-voter").value;
  $("vote-submit").disabled = true;
  try {
    const res = await dapi(`/votes/${encodeURIComponent(state.voteId)}/ballots`, { method: "POST", body: JSON.stringify(body) });
    if (res.ok) {
      const ballot = await res.json();
      await showVote(state.voteId);
      $("vote-message").textContent = `已记录：${CHOICE_LABELS[ballot.choice]}`;
    } else {
      let detail = "";
      try { detail = (await res.json()).detail || ""; } catch (e) { /* no body */ }
      $("vote-error").textContent = `投票未成功（HTTP ${res.status}）${detail ? "：" + detail : ""}`;
    }
  } catch (e) {
    $("vote-error").textContent = "无法连接议事服务，请稍后再试";
  } finally { $("vote-submit").disabled = false; }
}

async function showMeeting(id) {
  $("meeting-error").textContent = "";
  let res;
  try { res = await dapi(`/meetings/${encodeURIComponent(id)}`); } catch (e) { $("meeting-title").textContent = "会议"; $("meeting-error").textContent = "无法连接议事服务"; return; }
  if (!res.ok) { $("meeting-title").textContent = "会议"; $("meeting-error").textContent = res.status === 404 ? "找不到这次会议" : res.status === 403 ? "您不在这次会议的参会名单中" : `无法打开（HTTP ${res.status}）`; return; }
  const m = await res.json();
  $("meeting-title").textContent = m.title;
  $("meeting-type").textContent = MEETING_TYPE_LABELS[m.meeting_type] || m.meeting_type;
  setTime($("meeting-time"), m.scheduled_for);
  $("meeting-status").textContent = MEETING_STATUS_LABELS[m.status] || m.status;
  $("meeting-participants").textContent = `${m.participants.length} 人`;
  $("meeting-agenda").replaceChildren(...(m.agenda.length ? m.agenda : [{ title: "（议程待定）" }]).map((i) => { const li = document.createElement("li"); li.textContent = i.title; return li; }));
  $("meeting-resolutions-section").hidden = !m.resolutions.length;
  $("meeting-resolutions").replaceChildren(...m.resolutions.map((r) => {
    const li = document.createElement("li");
    li.textContent = `${r.title}：${OUTCOME_LABELS[r.decision.outcome] || r.decision.outcome}（同意 ${r.decision.approve}，反对 ${r.decision.oppose}，弃权 ${r.decision.abstain}）`;
    return li;
  }));
  $("meeting-title").focus();
}

// -- settings -----------------------------------------------------------------------------------------

const CATEGORIES = Object.keys(CATEGORY_LABELS);

async function loadSettings() {
  $("settings-message").textContent = ""; $("settings-error").textContent = "";
  const [channelsRes, prefsRes] = await Promise.all([api("/delivery-channels"), api(memberPath("/preferences"))]);
  if (!channelsRes.ok || !prefsRes.ok) { $("settings-error").textContent = "无法读取设置"; return; }
  const configured = (await channelsRes.json()).channels;
  const prefs = await prefsRes.json();
  $("channel-options").replaceChildren(...configured.map((c) => {
    const row = document.createElement("div"); row.className = "row";
    const box = document.createElement("input");
    box.type = "checkbox"; box.id = `channel-${c}`; box.value = c; box.checked = prefs.channels.includes(c);
    const label = document.createElement("label"); label.htmlFor = box.id; label.textContent = CHANNEL_LABELS[c] || c;
    row.append(box, label);
    return row;
  }));
  $("quiet-enabled").checked = !!prefs.quiet_hours;
  if (prefs.quiet_hours) { $("quiet-start").value = prefs.quiet_hours.start; $("quiet-end").value = prefs.quiet_hours.end; }
  $("category-rows").replaceChildren(...CATEGORIES.map((c) => {
    const pref = prefs.categories[c] || { enabled: true, digest: false };
    const tr = document.createElement("tr");
    const th = document.createElement("th"); th.scope = "row"; th.textContent = CATEGORY_LABELS[c];
    const cell = (kind, checked, label) => {
      const td = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox"; box.id = `cat-${c}-${kind}`; box.checked = checked;
      box.setAttribute("aria-label", `${CATEGORY_LABELS[c]}：${label}`);
      td.append(box);
      return td;
    };
    tr.append(th, cell("enabled", pref.enabled !== false, "接收"), cell("digest", !!pref.digest, "每日汇总"));
    return tr;
  }));
  const hour = $("digest-hour");
  if (!hour.options.length) {
    for (let h = 0; h < 24; h++) { const o = document.createElement("option"); o.value = String(h); o.textContent = `${h}:00`; hour.append(o); }
  }
  hour.value = String(prefs.digest_hour ?? 20);
  state.preferences = prefs;
}

async function saveSettings(event) {
  event.preventDefault();
  $("settings-message").textContent = ""; $("settings-error").textContent = "";
  const prefs = state.preferences || { categories: {} };
  const categories = Object.assign({}, prefs.categories);
  for (const c of CATEGORIES) {
    categories[c] = Object.assign({}, categories[c] || {}, {
      enabled: $(`cat-${c}-enabled`).checked, digest: $(`cat-${c}-digest`).checked,
    });
  }
  const body = {
    channels: [...document.querySelectorAll("#channel-options input:checked")].map((b) => b.value),
    categories,
    quiet_hours: $("quiet-enabled").checked ? { start: $("quiet-start").value, end: $("quiet-end").value } : null,
    digest_hour: Number($("digest-hour").value),
  };
  const res = await api(memberPath("/preferences"), { method: "PUT", body: JSON.stringify(body) });
  if (res.ok) { state.preferences = await res.json(); $("settings-message").textContent = "设置已保存"; }
  else {
    let detail = "";
    try { detail = (await res.json()).detail || ""; } catch (e) { /* no body */ }
    $("settings-error").textContent = `保存失败（HTTP ${res.status}）${detail ? "：" + detail : ""}`;
  }
}

// -- sign-in ------------------------------------------------------------------------------------------

function showSignin(error) {
  state.member = null;
  showScreen("signin");
  setStatus("未登录", false);
  $("badge").hidden = true;
  $("signin-error").textContent = error || "";
}

let countdownTimer = null;
function countdown(seconds) {
  const button = $("code-button");
  clearInterval(countdownTimer);
  let left = seconds;
  button.disabled = true;
  button.textContent = `${left} 秒后可重新获取`;
  countdownTimer = setInterval(() => {
    left -= 1;
    if (left <= 0) { clearInterval(countdownTimer); button.disabled = false; button.textContent = "重新获取验证码"; }
    else button.textContent = `${left} 秒后可重新获取`;
  }, 1000);
}

async function requestCode(event) {
  event.preventDefault();
  $("signin-error").textContent = ""; $("signin-message").textContent = "";
  const phone = $("phone-input").value.trim();
  if (!/^(\+?86)?\s*1[3-9]\d[\d\s-]{8,10}$/.test(phone)) { $("signin-error").textContent = "请输入正确的手机号"; $("phone-input").focus(); return; }
  const res = await fetch("../auth/sms-code", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ phone }) });
  if (res.status === 202) {
    const answer = await res.json();
    $("signin-message").textContent = `验证码已发送，${Math.round(answer.expires_in / 60)} 分钟内有效`;
    countdown(answer.resend_after);
    $("code-input").focus();
  } else if (res.status === 429) {
    const wait = Number(res.headers.get("Retry-After") || "60");
    $("signin-error").textContent = `请求过于频繁，请 ${wait} 秒后再试`;
    countdown(Math.min(wait, 3600));
  } else if (res.status === 422) {
    $("signin-error").textContent = "请输入正确的手机号";
  } else {
    $("signin-error").textContent = `暂时无法发送验证码（HTTP ${res.status}）`;
  }
}

async function verifyCode(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  const phone = $("phone-input").value.trim();
  const code = $("code-input").value.trim();
  if (!/^\d{6}$/.test(code)) { $("signin-error").textContent = "请输入 6 位验证码"; $("code-input").focus(); return; }
  const res = await fetch("../auth/sms-code/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ phone, code }) });
  if (res.ok) {
    saveAuth(fromTokens(await res.json()));
    $("code-input").value = "";
    await start();
    return;
  }
  let reason = "";
  try { reason = (await res.json()).reason || ""; } catch (e) { /* no body */ }
  $("signin-error").textContent = reason === "attempts_exhausted" ? "错误次数过多，请重新获取验证码"
    : reason === "expired" ? "验证码已过期，请重新获取" : "验证码不正确";
}

async function start() {
  let res;
  try { res = await api("/me"); } catch (e) { res = null; }
  if (res === null) {
    // Offline: open with what the app kept (the service worker answers from its cache).
    const member = localStorage.getItem(MEMBER_KEY);
    if (!member) return showSignin("离线：请联网后登录");
    state.member = member;
  } else {
    if (!res.ok) { saveAuth(null); return showSignin(`令牌无效（HTTP ${res.status}）`); }
    const me = await res.json();
    if (!me.person_id) { saveAuth(null); return showSignin("此令牌不属于成员（需要 --role member）"); }
    state.member = me.person_id;
    localStorage.setItem(MEMBER_KEY, me.person_id);
  }
  setStatus("连接中…", false);
  await loadConfig();
  await route();
  stream();
}

function signinWithToken(token) {
  saveAuth({ access: token.trim(), refresh: null, expiresAt: null });
  start().catch((e) => showSignin(String(e)));
}

async function signOut() {
  const auth = state.auth;
  saveAuth(null);
  localStorage.removeItem(MEMBER_KEY);
  if (auth && auth.refresh) {
    await fetch("../auth/sign-out", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: auth.refresh }) }).catch(() => {});
  }
  if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({ type: "signed-out" });
  location.hash = "";
  location.reload();
}

window.addEventListener("DOMContentLoaded", () => {
  registerWorker(); // on load: the app installs and opens offline whether or not push is enabled
  if ("serviceWorker" in navigator) {
    // The first visit's page was read before the worker took over: read it again so it is kept offline.
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (state.member && state.screen === "feed") loadPage(true).catch(() => {});
    });
  }
  $("phone-form").addEventListener("submit", requestCode);
  $("code-form").addEventListener("submit", verifyCode);
  $("signin-button").addEventListener("click", () => signinWithToken($("token-input").value));
  $("signout").addEventListener("click", signOut);
  $("read-all").addEventListener("click", async () => {
    await api(memberPath("/feed/read-all"), { method: "POST", body: JSON.stringify(state.category ? { category: state.category } : {}) });
  });
  $("more").addEventListener("click", () => loadPage(false));
  $("push").addEventListener("click", () => enablePush().catch((e) => announce(`无法开启推送：${e}`)));
  $("category").addEventListener("change", (e) => { state.category = e.target.value; loadPage(true); });
  $("settings-form").addEventListener("submit", saveSettings);
  $("vote-form").addEventListener("submit", castBallot);
  $("vote-voter").addEventListener("change", () => { if (state.vote) renderVote(state.vote); });
  $("item-archive").addEventListener("click", async () => { if (state.itemId && await mark(state.itemId, "archived")) location.hash = "#/feed"; });
  window.addEventListener("hashchange", () => route().catch(() => {}));
  setInterval(() => { for (const t of document.querySelectorAll("time[datetime]")) t.textContent = relativeTime(t.dateTime); }, 30000);

  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) { history.replaceState(null, "", location.pathname); signinWithToken(fromHash); return; }
  const auth = loadAuth() || (localStorage.getItem("civicgrid.token") ? { access: localStorage.getItem("civicgrid.token"), refresh: null } : null);
  if (auth) { state.auth = auth; scheduleRefresh(); start().catch((e) => showSignin(String(e))); }
  else showSignin();
});
