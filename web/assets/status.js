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
    const calls = await (await fetch("/api/v1/calls?limit=20")).json();
    fill("calls", calls.map(c => [new Date(c.started).toLocaleString(), c.direction, c.from, c.to, c.result,
      Math.round(c.talk_ms / 1000) + " s"]), ["Started", "Direction", "From", "To", "Result", "Talk"]);
  } catch (e) {
    document.getElementById("active").innerHTML = '<span class="err">daemon unreachable</span>';
  }
}
refresh();
setInterval(refresh, 2000);
