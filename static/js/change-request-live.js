// One change request, live: when the request changes (a decision, the change moved, approved,
// rejected, expired), the server broadcasts {"type": "change_request.updated"} to the tenant and to the
// requester. The page then fetches its request fragment again and swaps it in, so stages, decisions,
// the diff and the buttons are always what the server renders. live.js relays the requester's own
// events as "portal:event"; the tenant stream reaches everyone else who watches.
(() => {
  const root = document.getElementById("change-request-live");
  if (!root) return;
  const id = Number(root.dataset.request);
  const CLOSE_CODES_FINAL = [4401, 4404];
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  let attempt = 0;
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

  if (!("WebSocket" in window)) return;
  const backoff = () => {
    const base = Math.min(30000, 500 * 2 ** attempt);
    attempt += 1;
    return base / 2 + Math.random() * (base / 2);
  };
  const connect = () => {
    const socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.socket}`);
    let ping = null;
    socket.addEventListener("open", () => {
      if (attempt > 0) refresh(); // something may have changed while we were away
      attempt = 0;
      ping = window.setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "event" && concerns(data.payload)) refresh();
    });
    socket.addEventListener("close", (closed) => {
      window.clearInterval(ping);
      if (CLOSE_CODES_FINAL.includes(closed.code)) return;
      attempt = Math.max(attempt, 1);
      window.setTimeout(connect, backoff());
    });
  };
  connect();
})();
