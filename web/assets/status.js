function row(cells, head) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement(head ? "th" : "td"); td.textContent = c; tr.appendChild(td); }
  return tr;
}
function fill(id, rows, head) {
  const t = document.getElementById(id);
  t.replaceChildren();
  if (head) t.appendChild(row(head, true));
  for (const r of rows) t.appendChild(row(r));
}
async function refresh() {
  try {
    const s = await (await fetch("/api/v1/status")).json();
    document.getElementById("box").textContent = s.box;
    fill("boxinfo", [["Version", s.version], ["Up", s.uptime_seconds + " s"], ["SIP", s.sip_listeners.join(", ")],
      ["Phones registered", s.extensions.registered + " of " + s.extensions.total]]);
    document.getElementById("active").textContent = s.calls.active;
    fill("callcounts", [["Inbound", s.calls.inbound], ["Outbound", s.calls.outbound], ["Internal", s.calls.internal]]);
    fill("trunks", (s.trunks || []).map(t => [t.name, t.kind, t.state]), ["Trunk", "Kind", "State"]);
    fill("queues", (s.queues || []).map(q => [q.name, q.waiting, q.longest_wait_seconds + " s", q.agents_available]),
      ["Queue", "Waiting", "Longest wait", "Agents free"]);
    const a = s.agents || {};
    fill("agents", [["Logged in", a.logged_in || 0], ["Available", a.available || 0], ["On a call", a.on_call || 0],
      ["Paused", a.paused || 0]]);
    const calls = await (await fetch("/api/v1/calls?limit=20")).json();
    fill("calls", calls.map(c => [new Date(c.started).toLocaleString(), c.direction, c.from, c.to, c.result,
      Math.round(c.talk_ms / 1000) + " s"]), ["Started", "Direction", "From", "To", "Result", "Talk"]);
  } catch (e) {
    const el = document.getElementById("active");
    el.replaceChildren();
    const err = document.createElement("span");
    err.className = "err";
    err.textContent = "daemon unreachable";
    el.appendChild(err);
  }
}
refresh();
setInterval(refresh, 2000);
