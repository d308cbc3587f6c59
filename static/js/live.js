// The live indicator: one WebSocket per page to /ws/live/, reconnecting with capped, jittered backoff.
// States: connected (green), reconnecting (amber), offline (grey, the server refused us).
(() => {
  const badge = document.getElementById("live-indicator");
  if (!badge || !("WebSocket" in window)) return;
  const label = badge.querySelector(".live-label");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}${badge.dataset.url}`;
  const CLOSE_UNAUTHENTICATED = 4401;
  let attempt = 0;
  let pingTimer = null;

  const setState = (state) => {
    badge.dataset.state = state;
    label.textContent = state;
    badge.title = `Live updates: ${state}`;
  };

  const backoff = () => {
    const base = Math.min(30000, 500 * 2 ** attempt);
    attempt += 1;
    return base / 2 + Math.random() * (base / 2);
  };

  const connect = () => {
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      attempt = 0;
      setState("connected");
      pingTimer = window.setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "event") {
        document.dispatchEvent(new CustomEvent("portal:event", { detail: message.payload }));
      }
    });
    socket.addEventListener("close", (event) => {
      window.clearInterval(pingTimer);
      if (event.code === CLOSE_UNAUTHENTICATED) {
        setState("offline");
        return;
      }
      setState("reconnecting");
      window.setTimeout(connect, backoff());
    });
  };

  setState("reconnecting");
  connect();
})();
