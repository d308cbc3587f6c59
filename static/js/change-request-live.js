// One change request, live: when the request changes (a decision, the change moved, approved,
// rejected, expired), the server broadcasts {"type": "change_request.updated"} to the tenant and to the
// requester. The page then fetches its request fragment again and swaps it in, so stages, decisions,
// the diff and the buttons are always what the server renders. live.js relays the requester's own
// events as "portal:event"; the tenant stream reaches everyone else who watches.
(() => {
  const root = document.getElementById("change-request-live");
  if (!root) return;
  const id = Number(root.dataset.request);
  let pending = null;

  const refresh = () => {
    if (pending) return pending;
    pending = fetch(root.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => { if (html !== null) root.innerHTML = html; })
      .catch(() => {})
      .finally(() => { pending = null; });
    return pending;
  };

  const concerns = (payload) => payload && payload.type === "change_request.updated" && payload.change_request === id;

  document.addEventListener("portal:event", (event) => { if (concerns(event.detail)) refresh(); });

  window.portalSocket(root.dataset.socket, {
    onOpen: ({ reconnected }) => { if (reconnected) refresh(); }, // something may have changed while away
    onMessage: (data) => { if (data.type === "event" && concerns(data.payload)) refresh(); },
  });
})();
