// One build's log, live: lines arrive over /ws/builds/<id>/ and are appended in seq order. After a
// reconnect, or when a seq is skipped, the page asks the API for the lines after its last seq, so
// nothing is missed and nothing is shown twice. When the build ends, the page reads the build once more
// for its digest, release and outcome. The database is the record; the socket nudges.
(() => {
  const root = document.getElementById("build-live");
  if (!root || !window.portalSocket || !("WebSocket" in window)) return;
  const TERMINAL = ["succeeded", "failed", "cancelled"];
  const TONES = {
    queued: "text-bg-secondary", running: "text-bg-primary", pushing: "text-bg-info",
    succeeded: "text-bg-success", failed: "text-bg-danger", cancelled: "text-bg-warning",
  };
  const log = document.getElementById("build-log");
  const status = document.getElementById("log-status");
  const rendered = [...log.querySelectorAll("[data-seq]")].map((line) => Number(line.dataset.seq));
  let lastSeq = Math.max(Number(root.dataset.lastSeq || 0), ...rendered);
  let fetching = null;
  let ended = false;

  const showState = (state) => {
    const badge = document.querySelector("#build-state .badge");
    badge.className = `badge ${TONES[state] || "text-bg-secondary"}`;
    badge.dataset.state = state;
    badge.textContent = state.charAt(0).toUpperCase() + state.slice(1);
  };

  const finish = () => {
    if (ended) return;
    ended = true;
    fetch(root.dataset.buildUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((build) => {
        if (!build) return;
        showState(build.state);
        document.getElementById("build-digest").textContent = build.digest || "—";
        document.getElementById("build-outcome").textContent = build.outcome;
        if (build.duration_seconds !== null) {
          const total = Math.floor(build.duration_seconds);
          document.getElementById("build-duration").textContent =
            total >= 60 ? `${Math.floor(total / 60)} min ${total % 60} s` : `${total} s`;
        }
        const cancel = document.getElementById("cancel-form");
        if (cancel) cancel.hidden = true;
        const deploy = document.getElementById("deploy-build");
        if (build.release) {
          const query = new URLSearchParams({ application: build.application_name, release: build.release_number });
          deploy.href = `${deploy.dataset.deployBase}?${query}`;
          deploy.hidden = false;
          document.getElementById("build-release").textContent = `#${build.release_number}`;
        }
      })
      .catch(() => { ended = false; });
  };

  const append = (line) => {
    if (line.seq <= lastSeq) return;
    const span = document.createElement("span");
    span.dataset.seq = line.seq;
    span.className = `build-line build-line-${line.stream}`;
    span.textContent = `${line.text}\n`;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.appendChild(span);
    if (atBottom) log.scrollTop = log.scrollHeight;
    lastSeq = line.seq;
  };

  const catchUp = () => {
    if (fetching) return fetching;
    fetching = fetch(`${root.dataset.logUrl}?after_seq=${lastSeq}`, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : []))
      .then((lines) => lines.forEach(append))
      .catch(() => {})
      .finally(() => { fetching = null; });
    return fetching;
  };

  const receive = (payload) => {
    if (payload.lines.length && payload.lines[0].seq === lastSeq + 1) payload.lines.forEach(append);
    else if (payload.seq > lastSeq) catchUp();
    if (payload.state) showState(payload.state);
    if (TERMINAL.includes(payload.state)) finish();
  };

  window.portalSocket(root.dataset.socket, {
    onOpen: () => { status.textContent = "· live"; },
    onMessage: (data) => {
      if (data.type === "hello") {
        if (data.last_seq > lastSeq) catchUp();
        if (TERMINAL.includes(data.state)) finish();
      }
      if (data.type === "event") receive(data.payload);
    },
    onClose: ({ final }) => { status.textContent = final ? "· not live" : "· reconnecting"; },
  });
})();
