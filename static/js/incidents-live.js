// The incidents page, live: an incident of the tenant opening, acknowledged or resolving is announced
// over /ws/tenants/<slug>/, and the server draws the list again (live-parts.js), with the page's own
// filter; so is it once the socket is in the tenant's group, for what happened before it listened.
(() => {
  const card = document.getElementById("incidents-card");
  if (!card || !window.portalSocket || !window.portalRedraw || !("WebSocket" in window)) return;
  const status = card.querySelector("[data-live-status]");
  const redraw = window.portalRedraw(window.location.href, (root) => [...root.querySelectorAll("#incidents-card [data-live-part]")]
    .map((part) => [part.dataset.livePart, part, window.portalDrawn(part)]));
  window.portalSocket(card.dataset.socket, {
    onOpen: () => { status.textContent = "· live"; },
    onMessage: (data) => {
      if (data.type === "hello" || (data.type === "event" && data.payload.type === "incident")) redraw();
    },
    onClose: ({ final }) => { status.textContent = final ? "· not live" : "· reconnecting"; },
  });
})();
