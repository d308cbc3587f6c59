// The newest deployment per application and environment, live: every deployment event of the tenant
// arrives over /ws/tenants/<slug>/ and moves its row's state badge and latest event. A deployment the
// page has not seen yet is looked up once in the API for its release number. Once connected, each row
// still in flight (after a reconnect, every row) asks the API for its deployment again, so a change
// missed before the socket joined still shows. A deployment
// whose application was removed from the environment carries a "Removed" badge beside its state: the
// removal's event says so (data.operation "remove"), and the API's removed_at after a reconnect.
(() => {
  const root = document.getElementById("latest-deployments");
  if (!root || !window.portalSocket || !document.getElementById("deployment-states") || !("WebSocket" in window)) return;
  // States come from the page (apps/deployments/templatetags/deployment_state.py).
  const { LABELS, TONES, TERMINAL } = JSON.parse(document.getElementById("deployment-states").textContent);
  const tbody = root.querySelector("tbody");
  const status = document.getElementById("latest-deployments-status");
  const onlyApplication = Number(root.dataset.application || 0);
  const slots = Number(root.dataset.slots || 0);
  const known = new Map(); // deployment id -> {state, message, seq, removed}

  const lookUp = (id) => fetch(`${root.dataset.api}${id}/`, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .catch(() => null);

  const badge = (state) => {
    const span = document.createElement("span");
    span.className = `badge ${TONES[state] || "text-bg-secondary"}`;
    span.dataset.state = state;
    span.textContent = LABELS[state] || state;
    return span;
  };

  // "Serving now" is the cluster's word (what the Service routes to), not the events': an event only says
  // it may have changed, and it is read again from the API once the events of a burst have arrived.
  const servingTimers = new Map();
  const readServing = (row, id) => {
    clearTimeout(servingTimers.get(row));
    servingTimers.set(row, setTimeout(() => fetch(`${root.dataset.api}${id}/serving/`, { credentials: "same-origin" })
      .then((response) => response.json().then((answer) => {
        const text = document.createElement("span");
        text.textContent = response.ok ? answer.summary : (answer.detail || "The cluster could not be read.");
        if (!response.ok) text.className = "text-warning-emphasis";
        row.querySelector('[data-field="serving"]').replaceChildren(text);
      }))
      .catch(() => {}), 300));
  };

  const removedBadge = () => {
    const span = document.createElement("span");
    span.className = "badge text-bg-dark";
    span.dataset.removed = "";
    const icon = document.createElement("i");
    icon.className = "bi bi-trash me-1";
    span.append(icon, "Removed");
    return span;
  };

  const show = (row, id) => {
    const seen = known.get(id);
    if (!seen || Number(row.dataset.deployment || 0) !== id) return;
    const state = row.querySelector('[data-field="state"]');
    state.replaceChildren(badge(seen.state));
    if (seen.removed) state.append(" ", removedBadge());
    if (seen.message !== undefined) row.querySelector('[data-field="message"]').textContent = seen.message;
    readServing(row, id);
  };

  const cell = (field, className) => {
    const td = document.createElement("td");
    if (field) td.dataset.field = field;
    if (className) td.className = className;
    return td;
  };

  const newRow = (slot, deployment) => {
    const row = document.createElement("tr");
    row.dataset.slot = slot;
    if (!onlyApplication) {
      const name = cell("", "fw-semibold");
      name.textContent = deployment.application;
      row.append(name);
    }
    const environment = cell("");
    environment.textContent = deployment.environment_name;
    row.append(environment, cell("release"), cell("state"), cell("serving", "small"), cell("message", "small"));
    tbody.querySelector("tr[data-empty]")?.remove();
    tbody.appendChild(row);
    return row;
  };

  const adopt = (slot, id) => lookUp(id).then((deployment) => {
    if (!deployment) return;
    const row = tbody.querySelector(`tr[data-slot="${slot}"]`) || newRow(slot, deployment);
    const current = Number(row.dataset.deployment || 0);
    if (current > id) return;
    // The overview holds the places deployed to most recently, newest on top; an application's page
    // holds every environment in promotion order.
    if (slots && id > current) {
      tbody.prepend(row);
      [...tbody.querySelectorAll("tr[data-slot]")].slice(slots).forEach((old) => old.remove());
    }
    row.dataset.deployment = id;
    const link = document.createElement("a");
    link.href = `${root.dataset.pages}${id}/`;
    link.textContent = `#${deployment.release_number}`;
    row.querySelector('[data-field="release"]').replaceChildren(link);
    const seen = known.get(id);
    if (!seen || seen.seq <= deployment.last_seq) {
      known.set(id, {
        state: deployment.state,
        message: seen ? seen.message : undefined,
        seq: deployment.last_seq,
        removed: Boolean(deployment.removed_at),
      });
    }
    show(row, id);
  });

  const receive = (event) => {
    if (onlyApplication && event.application !== onlyApplication) return;
    const seen = known.get(event.deployment);
    if (seen && seen.seq >= event.seq) return;
    known.set(event.deployment, {
      state: event.deployment_state,
      message: event.message,
      seq: event.seq,
      removed: Boolean(seen?.removed || event.data?.operation === "remove"),
    });
    const slot = `${event.application}:${event.environment}`;
    const row = tbody.querySelector(`tr[data-slot="${slot}"]`);
    const current = row ? Number(row.dataset.deployment || 0) : 0;
    if (row && current === event.deployment) show(row, event.deployment);
    else if (event.deployment > current) adopt(slot, event.deployment);
  };

  // Every row after a reconnect; on the first connection only the rows still moving, whose events may
  // have gone out between the server drawing the page and the socket joining the tenant's group.
  const refresh = (all) => tbody.querySelectorAll("tr[data-deployment]").forEach((row) => {
    const state = row.querySelector('[data-field="state"] .badge')?.dataset.state;
    if (row.dataset.deployment && (all || !TERMINAL.includes(state))) adopt(row.dataset.slot, Number(row.dataset.deployment));
  });

  let reconnected = false;
  window.portalSocket(root.dataset.socket, {
    onOpen: (opened) => {
      status.textContent = "· live";
      reconnected = opened.reconnected;
    },
    onMessage: (data) => {
      // After "hello" the socket is in the tenant's group: look again at what was missed before it.
      if (data.type === "hello") refresh(reconnected);
      if (data.type === "event" && data.payload.type === "deployment.event") receive(data.payload);
    },
    onClose: ({ final }) => { status.textContent = final ? "· not live" : "· reconnecting"; },
  });
})();
