// One workload, kept current without a reload: the row as each read of the cluster leaves it (badges,
// replicas, pods) over /ws/workloads/{id}/, the actions, incidents, replica chart and drift drawn again
// by the server after each read (live-parts.js), the pods' logs as they are written over
// /ws/workloads/{id}/logs/ (pause, search, download), and the events. Every number is what was read
// from the cluster; nothing here is inferred.
(() => {
  const card = document.getElementById("workload");
  if (!card) return;
  const id = card.dataset.url.match(/(\d+)\/$/)[1];
  const HEALTH = { healthy: "text-bg-success", degraded: "text-bg-danger", missing: "text-bg-danger", progressing: "text-bg-info", suspended: "text-bg-secondary", unknown: "text-bg-warning" };
  const SYNC = { synced: "text-bg-success", out_of_sync: "text-bg-warning", unknown: "text-bg-light border" };
  const LABELS = { out_of_sync: "Out of sync" };
  const label = (value) => LABELS[value] || value.charAt(0).toUpperCase() + value.slice(1);

  const badge = (selector, value, tones, attribute) => {
    const element = card.querySelector(selector);
    if (!element) return;
    element.className = `badge ${tones[value] || "text-bg-secondary"}`;
    element.setAttribute(attribute, value);
    element.textContent = label(value);
  };

  const cell = (text) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  };

  const showRow = (row) => {
    badge("[data-health]", row.health, HEALTH, "data-health");
    badge("[data-sync]", row.sync, SYNC, "data-sync");
    document.getElementById("health-reason").textContent = row.health_reason;
    document.getElementById("live-release").textContent = row.release ? `#${row.release}${row.colour ? ` (${row.colour} serving)` : ""}` : "none";
    document.getElementById("live-image").textContent = row.image || "—";
    document.getElementById("replicas").textContent = row.replicas === null ? "—"
      : `${row.ready_replicas} of ${row.replicas} ready, ${row.updated_replicas} updated, ${row.available_replicas} available`;
    const tbody = document.querySelector("#pods tbody");
    tbody.replaceChildren(...row.pods.map((pod) => {
      const tr = document.createElement("tr");
      tr.dataset.pod = pod.name;
      const name = document.createElement("code");
      name.textContent = pod.name;
      const first = document.createElement("td");
      first.append(name);
      const state = cell(pod.state);
      const message = document.createElement("div");
      message.className = "small text-body-secondary";
      message.textContent = pod.message;
      state.append(message);
      tr.append(first, state, cell(`#${pod.release}`), cell(String(pod.restarts)), cell(pod.last_reason || "—"), cell(pod.node || "—"), cell(pod.created_at ? window.portalDateTime(pod.created_at) : "—"));
      return tr;
    }));
  };

  // The actions, incidents, replica chart and drift come from the server again after each read.
  const redrawParts = window.portalRedraw(card.dataset.parts, (root) => [...root.querySelectorAll("[data-live-part]")]
    .map((part) => [part.dataset.livePart, part, window.portalDrawn(part)]));

  window.portalSocket(`/ws/workloads/${id}/`, {
    onMessage: (message) => {
      if (message.type === "hello" || message.type === "workload") showRow(message.workload);
      if (message.type === "workload") redrawParts();
    },
    onOpen: ({ reconnected }) => { if (reconnected) redrawParts(); },
  });

  const events = document.getElementById("events");
  const loadEvents = async () => {
    const tbody = events.querySelector("tbody");
    try {
      const answer = await fetch(events.dataset.url, { headers: { Accept: "application/json" } });
      const body = await answer.json();
      if (!answer.ok) {
        const tr = document.createElement("tr");
        tr.append(cell(body.detail || "The events could not be read."));
        tbody.replaceChildren(tr);
        return;
      }
      tbody.replaceChildren(...body.slice(0, 100).map((event) => {
        const tr = document.createElement("tr");
        const when = event.at ? window.portalDateTime(event.at) : "";
        tr.append(cell(when), cell(event.source), cell(event.object), cell(`${event.reason}: ${event.message}${event.count > 1 ? ` (×${event.count})` : ""}`));
        return tr;
      }));
    } finally {
      setTimeout(loadEvents, 10000);
    }
  };

  const logs = document.getElementById("logs");
  const search = document.getElementById("logs-search");
  const pause = document.getElementById("logs-pause");
  const status = document.getElementById("logs-status");
  const MAX_LINES = 5000;
  let lines = [];
  let paused = false;
  const showLogs = () => {
    const term = search.value.trim().toLowerCase();
    const shown = term ? lines.filter((line) => line.toLowerCase().includes(term)) : lines;
    const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
    logs.textContent = shown.join("\n");
    if (atEnd) logs.scrollTop = logs.scrollHeight;
  };
  window.portalSocket(`/ws/workloads/${id}/logs/`, {
    onOpen: ({ reconnected }) => {
      // Each connection starts with every pod's last lines again: start over rather than repeat them.
      lines = [];
      status.textContent = paused ? "paused" : "following";
      if (reconnected) showLogs();
    },
    onMessage: (message) => {
      if (message.type === "error") status.textContent = message.message;
      if (message.type !== "lines") return;
      lines.push(...message.lines.map((line) => `[${line.pod}] ${line.text}`));
      if (lines.length > MAX_LINES) lines = lines.slice(-MAX_LINES);
      if (!paused) showLogs();
    },
    onClose: ({ final }) => { status.textContent = final ? "stopped" : "reconnecting"; },
  });
  search.addEventListener("input", showLogs);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Follow" : "Pause";
    status.textContent = paused ? "paused" : "following";
    if (!paused) showLogs();
  });

  loadEvents();
})();
