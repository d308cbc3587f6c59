// One deployment, live: events arrive over /ws/deployments/<id>/ and are appended in seq order.
// After a reconnect, or when a seq is skipped, the page asks the API for the events after its last
// seq, so nothing is missed and nothing is shown twice. The database is the record; the socket nudges.
// A change of state has the server draw the operations card again (live-parts.js).
(() => {
  const root = document.getElementById("deployment-live");
  if (!root || !window.portalSocket || !document.getElementById("deployment-states") || !("WebSocket" in window)) return;
  // States come from the page (apps/deployments/templatetags/deployment_state.py), defined once in Python.
  const { LABELS, TONES, TERMINAL } = JSON.parse(document.getElementById("deployment-states").textContent);
  const LOOKS = {
    done: ["list-group-item-success", "bi-check-circle-fill"], current: ["list-group-item-primary", "bi-arrow-repeat"],
    waiting: ["list-group-item-warning", "bi-hourglass-split"],
    failed: ["list-group-item-danger", "bi-x-circle-fill"], todo: ["text-body-secondary", "bi-circle"],
  };
  const tbody = document.querySelector("#events tbody");
  const status = document.getElementById("events-status");
  // The rendered rows may run ahead of the row's last_seq read just before them: trust the rows.
  const renderedSeqs = [...tbody.querySelectorAll("tr[data-seq]")].map((row) => Number(row.dataset.seq));
  let lastSeq = Math.max(Number(root.dataset.lastSeq || 0), ...renderedSeqs);
  let fetching = null;

  const cell = (text, className) => {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  };

  const showState = (state) => {
    const badge = document.querySelector("#deployment-state .badge");
    badge.className = `badge ${TONES[state] || "text-bg-secondary"}`;
    badge.dataset.state = state;
    badge.textContent = LABELS[state] || state;
    // The steps drawn on the page (a deployment that waited for approval has one more); a deployment
    // that ends without succeeding marks failed the step it had reached.
    const items = [...document.querySelectorAll(".deployment-step")];
    const steps = items.map((item) => item.dataset.step);
    const failed = TERMINAL.includes(state) && state !== "succeeded";
    const wasAt = items.findIndex((item) => ["current", "waiting"].includes(item.dataset.status));
    const reached = steps.includes(state) && !failed ? steps.indexOf(state) : (wasAt >= 0 ? wasAt : steps.length - 1);
    items.forEach((item, i) => {
      let look = i < reached || state === "succeeded" ? "done" : i === reached ? "current" : "todo";
      if (failed && i === reached) look = "failed";
      if (look === "current" && steps[i] === "pending_approval") look = "waiting";
      const [row, icon] = LOOKS[look];
      item.className = `list-group-item flex-fill deployment-step ${row}`;
      item.dataset.status = look;
      item.querySelector("i").className = `bi ${icon} me-1`;
    });
    const cancel = document.getElementById("cancel-form");
    if (cancel && (TERMINAL.includes(state) || state === "cancelling")) cancel.hidden = true;
    const waiting = document.getElementById("waiting-for-approval");
    if (waiting && state !== "pending_approval") waiting.remove();
  };

  // The application was removed from the environment: the badge the page draws on a reload.
  const showRemoved = () => {
    if (document.getElementById("removed-badge")) return;
    const span = document.createElement("span");
    span.className = "badge text-bg-dark";
    span.id = "removed-badge";
    const icon = document.createElement("i");
    icon.className = "bi bi-trash me-1";
    span.append(icon, "Removed");
    document.getElementById("deployment-state").after(" ", span);
  };

  const redrawOperations = window.portalRedraw
    ? window.portalRedraw(window.location.href, (page) => [...page.querySelectorAll("[data-live-part='operations']")]
      .map((part) => ["operations", part, window.portalDrawn(part)]))
    : () => {};

  const append = (event) => {
    if (event.seq <= lastSeq) return;
    const row = document.createElement("tr");
    row.dataset.seq = event.seq;
    const kind = document.createElement("span");
    kind.className = "badge text-bg-light border";
    kind.textContent = event.kind;
    const kindCell = cell("");
    kindCell.appendChild(kind);
    const when = document.createElement("time");
    when.dateTime = event.created_at;
    when.textContent = window.portalTime(event.created_at);
    const whenCell = cell("", "small text-body-secondary");
    whenCell.appendChild(when);
    row.append(cell(event.seq), kindCell, cell(event.message), whenCell);
    tbody.appendChild(row);
    lastSeq = event.seq;
    document.dispatchEvent(new CustomEvent("deployment:event", { detail: event }));
    if (event.state) showState(event.state);
    if (event.data?.operation === "remove") showRemoved();
    if (event.state && TERMINAL.includes(event.state)) {
      document.getElementById("deployment-outcome").textContent = event.message;
    }
    // What can be done to the deployment changes with its state (scale, restart and promote once it
    // succeeded, pause while it rolls): the server draws the operations again.
    if (event.state || event.data?.operation === "remove") redrawOperations();
  };

  const catchUp = () => {
    if (fetching) return fetching;
    fetching = fetch(`${root.dataset.eventsUrl}?after_seq=${lastSeq}`, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : []))
      .then((events) => events.forEach(append))
      .catch(() => {})
      .finally(() => { fetching = null; });
    return fetching;
  };

  const receive = (event) => {
    if (event.seq <= lastSeq) return;
    if (event.seq === lastSeq + 1) append(event);
    else catchUp();
  };

  window.portalSocket(root.dataset.socket, {
    onOpen: () => { status.textContent = "· live"; },
    onMessage: (data) => {
      if (data.type === "hello" && data.last_seq > lastSeq) catchUp();
      if (data.type === "event") receive(data.payload);
    },
    onClose: ({ final }) => { status.textContent = final ? "· not live" : "· reconnecting"; },
  });
})();
