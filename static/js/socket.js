// One reconnecting WebSocket, shared by every live part of the portal: capped, jittered backoff, a
// ping every 25 s so half-open connections are noticed, and no retry after a close code that says
// retrying is pointless (4401: signed out; 4404: the thing watched is not there for you).
//   portalSocket(path, {onOpen({reconnected}), onMessage(data), onClose({final, code}), finalCodes})
window.portalSocket = (path, handlers = {}) => {
  if (!("WebSocket" in window)) return;
  const { onOpen, onMessage, onClose, finalCodes = [4401, 4404] } = handlers;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  let attempt = 0;
  let openedBefore = false;

  const backoff = () => {
    const base = Math.min(30000, 500 * 2 ** attempt);
    attempt += 1;
    return base / 2 + Math.random() * (base / 2);
  };

  const connect = () => {
    const socket = new WebSocket(`${scheme}://${window.location.host}${path}`);
    let ping = null;
    socket.addEventListener("open", () => {
      attempt = 0;
      ping = window.setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
      if (onOpen) onOpen({ reconnected: openedBefore });
      openedBefore = true;
    });
    socket.addEventListener("message", (message) => { if (onMessage) onMessage(JSON.parse(message.data)); });
    socket.addEventListener("close", (closed) => {
      window.clearInterval(ping);
      const final = finalCodes.includes(closed.code);
      if (onClose) onClose({ final, code: closed.code });
      if (!final) window.setTimeout(connect, backoff());
    });
  };
  connect();
};
