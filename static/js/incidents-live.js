// Incidents, live: an incident of the tenant opening, acknowledged or resolving is announced over
// /ws/tenants/<slug>/, and the server draws the parts of the page that show incidents again
// (live-parts.js): the incidents page's list, the workloads page's count of open ones. So it does once
// the socket is in the tenant's group, for what happened before it listened.
(() => {
  const root = document.querySelector("[data-incidents-live]");
  if (!root || !window.portalSocket || !window.portalRedraw || !("WebSocket" in window)) return;
  const status = root.querySelector("[data-live-status]");
  const say = (text) => { if (status) status.textContent = text; };
  const redraw = window.portalRedraw(window.location.href, (page) => [...page.querySelectorAll("[data-incidents-live] [data-live-part]")]
    .map((part) => [part.dataset.livePart, part, window.portalDrawn(part)]));
  window.portalSocket(root.dataset.socket, {
    onOpen: () => say("· live"),
    onMessage: (data) => {
      if (data.type === "hello" || (data.type === "event" && data.payload.type === "incident")) redraw();
    },
    onClose: ({ final }) => say(final ? "· not live" : "· reconnecting"),
  });
})();
