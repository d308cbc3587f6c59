// An add-on's state, live: the tenant stream (/ws/tenants/<slug>/) carries every change of the tenant's
// add-ons; this page takes the ones of its instance, updates the badge and the last operation, and reloads
// when provisioning or removal ends (the bind form or the list is what comes next). Each time the socket
// opens the page also reads the instance once from the API, so a change it missed still shows.
(() => {
  const card = document.getElementById("instance");
  if (!card || !window.portalSocket) return;
  const id = Number(card.dataset.instance);
  const initial = document.querySelector("#instance-state [data-addon-state]").dataset.addonState;
  const tones = { pending_approval: "text-bg-warning", provisioning: "text-bg-info", ready: "text-bg-success",
    failed: "text-bg-danger", deprovisioning: "text-bg-secondary" };
  const labels = { pending_approval: "Waiting for approval", provisioning: "Provisioning", ready: "Ready",
    failed: "Failed", deprovisioning: "Deprovisioning" };
  const show = (state, lastOperation) => {
    const badge = document.querySelector("#instance-state [data-addon-state]");
    badge.className = `badge ${tones[state] || "text-bg-secondary"}`;
    badge.dataset.addonState = state;
    badge.textContent = labels[state] || state;
    document.getElementById("last-operation").textContent = lastOperation || "—";
  };
  window.portalSocket(`/ws/tenants/${card.dataset.tenant}/`, {
    // A change made before the socket was open (or while it was down) never arrives: ask once.
    onOpen: () => {
      fetch(card.dataset.api, { credentials: "same-origin" })
        .then((response) => (response.status === 404 ? { state: "deprovisioned" } : response.json()))
        .then((now) => {
          if (now.state === "deprovisioned") window.location.assign(card.dataset.list);
          else if (now.state && now.state !== initial) window.location.reload();
        })
        .catch(() => {});
    },
    onMessage: (message) => {
      const payload = message.payload || {};
      if (message.type !== "event" || payload.type !== "service_instance" || payload.id !== id) return;
      if (payload.state === "deprovisioned") { window.location.assign(card.dataset.list); return; }
      show(payload.state, payload.last_operation);
      if (["ready", "failed"].includes(payload.state) && payload.state !== initial) window.location.reload();
    },
  });
})();
