// The live indicator: one WebSocket per page to /ws/live/ (socket.js reconnects it with backoff).
// States: connected (green), reconnecting (amber), offline (grey, the server refused us).
(() => {
  const badge = document.getElementById("live-indicator");
  if (!badge || !window.portalSocket || !("WebSocket" in window)) return;
  const label = badge.querySelector(".live-label");
  const CLOSE_UNAUTHENTICATED = 4401;

  const setState = (state) => {
    badge.dataset.state = state;
    label.textContent = state;
    badge.title = `Live updates: ${state}`;
  };

  setState("reconnecting");
  window.portalSocket(badge.dataset.url, {
    finalCodes: [CLOSE_UNAUTHENTICATED],
    onOpen: () => setState("connected"),
    onMessage: (message) => {
      if (message.type === "event") {
        document.dispatchEvent(new CustomEvent("portal:event", { detail: message.payload }));
      }
    },
    onClose: ({ final }) => setState(final ? "offline" : "reconnecting"),
  });
})();
