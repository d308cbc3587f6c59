// Workload rows on the tenant's pages (the overview's workloads, the workloads page, the application
// page's "Running now"),
// moved without a reload. The lifecycle watcher announces every change of a workload's release, counts
// and badges over /ws/tenants/<slug>/ (what it read from the cluster); the row of that workload takes
// it. On the application page a row is an environment, so a workload that appears there fills it; on the
// overview a workload the page has not shown yet is looked up once in the API and added, when it
// matches the filter. The application page's actions are drawn again by the server when a release goes
// live or a deployment of the application ends. Once the socket is in the tenant's group (and after every reconnect) the page
// reads its rows again from the API, so a change announced before it listened still shows.
(() => {
  const roots = [...document.querySelectorAll("[data-workloads-live]")];
  if (!roots.length || !window.portalSocket || !("WebSocket" in window)) return;
  const HEALTH = { healthy: "text-bg-success", degraded: "text-bg-danger", missing: "text-bg-danger", progressing: "text-bg-info", suspended: "text-bg-secondary", unknown: "text-bg-warning" };
  const SYNC = { synced: "text-bg-success", out_of_sync: "text-bg-warning", unknown: "text-bg-light border" };
  const API = "/api/v1/workloads/";

  const badge = (value, label, tones, attribute) => {
    const span = document.createElement("span");
    span.className = `badge ${tones[value] || "text-bg-secondary"}`;
    span.setAttribute(attribute, value);
    span.textContent = label;
    return span;
  };

  const field = (row, name) => row.querySelector(`[data-field="${name}"]`);

  // The application page's actions were drawn for the deployment live when the page loaded (what Roll
  // back goes to, what Promote sends): when a release goes live there or a deployment of the application
  // ends, the server draws each environment's row and actions again, and a row whose actions changed
  // is swapped (live-parts.js).
  const running = roots.find((root) => root.dataset.parts);
  const redrawActions = running && window.portalRedraw
    ? window.portalRedraw(running.dataset.parts, (root) => [...root.querySelectorAll("#running-now tbody[data-environment]")]
      .map((tbody) => [tbody.dataset.environment, tbody, tbody.dataset.actionsDrawn]))
    : () => {};
  const ENDED = ["succeeded", "failed", "rolled_back", "cancelled"];

  const fill = (row, workload) => {
    row.dataset.workload = workload.id;
    field(row, "release").textContent = workload.release ? `#${workload.release}` : "none";
    field(row, "replicas").textContent = workload.replicas === null || workload.replicas === undefined
      ? "—" : `${workload.ready_replicas} of ${workload.replicas} ready`;
    field(row, "health").replaceChildren(badge(workload.health, workload.health_label, HEALTH, "data-health"));
    field(row, "health_reason").textContent = workload.health_reason;
    field(row, "sync").replaceChildren(badge(workload.sync, workload.sync_label, SYNC, "data-sync"));
    const read = field(row, "observed_at");
    if (read) { // the workloads page says when each row was read: an announcement comes from a read just made
      const at = workload.observed_at || new Date().toISOString();
      const time = document.createElement("time");
      time.dateTime = at;
      time.textContent = window.portalDateTime ? window.portalDateTime(at) : at;
      read.replaceChildren(time);
    }
  };

  // The API's row as the socket's announcement says it.
  const announced = (row) => ({
    ...row,
    health_label: row.health_label || row.health.charAt(0).toUpperCase() + row.health.slice(1),
    sync_label: row.sync_label || (row.sync === "out_of_sync" ? "Out of sync" : row.sync.charAt(0).toUpperCase() + row.sync.slice(1)),
  });

  const lookUp = (query) => fetch(`${API}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((answer) => (answer.ok ? answer.json() : { results: [] }))
    .then((body) => body.results || [])
    .catch(() => []);

  const newRow = (root, workload) => {
    const tbody = root.querySelector("tbody");
    const row = document.createElement("tr");
    row.dataset.workloadRow = "";
    const name = document.createElement("td");
    name.className = "fw-semibold";
    const link = document.createElement("a");
    link.href = `${root.dataset.pages}${workload.id}/`;
    link.textContent = workload.application;
    name.append(link);
    const environment = document.createElement("td");
    environment.textContent = workload.environment;
    const cell = (name, className) => {
      const td = document.createElement("td");
      td.dataset.field = name;
      if (className) td.className = className;
      return td;
    };
    const health = document.createElement("td");
    const healthBadge = document.createElement("span");
    healthBadge.dataset.field = "health";
    const reason = document.createElement("span");
    reason.className = "small text-body-secondary";
    reason.dataset.field = "health_reason";
    health.append(healthBadge, " ", reason);
    row.append(name, environment, cell("release"), cell("replicas"), health, cell("sync"));
    if ("withRead" in root.dataset) row.append(cell("observed_at", "small text-body-secondary"));
    tbody.querySelector("tr[data-empty]")?.remove();
    tbody.append(row);
    return row;
  };

  // Degraded first, then by application and environment, as the server draws them
  // (apps/workloads/models.py HEALTH_ORDER): a row whose health changes moves to its place.
  const URGENCY = ["degraded", "missing", "unknown", "progressing", "suspended", "healthy"];
  const placeOf = (row) => {
    const health = row.querySelector("[data-health]")?.getAttribute("data-health") || "unknown";
    const [application, environment] = [...row.cells].slice(0, 2).map((cell) => cell.textContent.trim());
    return [URGENCY.indexOf(health), application, environment];
  };
  const before = (a, b) => {
    const [x, y] = [placeOf(a), placeOf(b)];
    return x[0] - y[0] || x[1].localeCompare(y[1]) || x[2].localeCompare(y[2]);
  };
  const reorder = (root) => {
    const tbody = root.querySelector("tbody");
    const rows = [...tbody.querySelectorAll("tr[data-workload-row]")];
    const sorted = [...rows].sort(before);
    if (sorted.some((row, i) => row !== rows[i])) tbody.append(...sorted);
  };

  const matches = (root, workload) => (!root.dataset.health || root.dataset.health === workload.health)
    && (!root.dataset.sync || root.dataset.sync === workload.sync);

  const adding = new Set();
  const receive = (workload) => roots.forEach((root) => {
    const application = Number(root.dataset.application || 0);
    if (application && application !== workload.application) return;
    let row = root.querySelector(`[data-workload-row][data-workload="${workload.id}"]`);
    if (!row && application) row = root.querySelector(`[data-workload-row][data-environment-id="${workload.environment}"]`);
    if (row) {
      fill(row, workload);
      if (application) redrawActions();
      else reorder(root);
      return;
    }
    if (application || !matches(root, workload) || adding.has(workload.id)) return;
    adding.add(workload.id); // the overview: a workload it has not shown yet, with its names from the API
    lookUp(`id=${workload.id}`).then(([found]) => {
      if (found && !root.querySelector(`[data-workload-row][data-workload="${found.id}"]`)) {
        fill(newRow(root, found), announced({ ...found, release: found.release }));
        reorder(root);
      }
    }).finally(() => adding.delete(workload.id));
  });

  const readAgain = () => roots.forEach((root) => {
    root.querySelectorAll("[data-workload-row]").forEach((row) => {
      if (!row.dataset.workload) return;
      lookUp(`id=${row.dataset.workload}`).then(([found]) => {
        if (found) fill(row, announced(found));
      });
    });
  });

  const say = (text) => roots.forEach((root) => root.querySelectorAll("[data-live-status]").forEach((element) => {
    element.textContent = text;
  }));

  window.portalSocket(roots[0].dataset.socket, {
    onOpen: () => say("· live"),
    onMessage: (data) => {
      if (data.type === "hello") {
        readAgain();
        redrawActions();
      }
      if (data.type === "event" && data.payload.type === "workload") receive(data.payload);
      const ended = data.type === "event" && data.payload.type === "deployment.event" && ENDED.includes(data.payload.state);
      if (ended && running && Number(running.dataset.application) === data.payload.application) redrawActions();
    },
    onClose: ({ final }) => say(final ? "· not live" : "· reconnecting"),
  });
})();
