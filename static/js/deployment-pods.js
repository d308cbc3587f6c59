// The pods of one deployment: each pod observation that deployment-live.js appends (in seq order,
// including those fetched after a reconnect) replaces that pod's row with its newest status.
(() => {
  const tbody = document.querySelector("#pods tbody");
  if (!tbody) return;
  const LOOKS = {
    created: ["starting", "text-bg-secondary"], ready: ["ready", "text-bg-success"],
    "pull-error": ["image pull error", "text-bg-danger"], "crash-loop": ["crash loop", "text-bg-danger"],
    restarts: ["restarted", "text-bg-warning"],
  };

  const cell = (child) => {
    const td = document.createElement("td");
    td.append(child);
    return td;
  };

  document.addEventListener("deployment:event", ({ detail: event }) => {
    const parts = (event.key || "").split(":");
    if (event.kind !== "pod" || parts.length < 3) return;
    const [name, what] = [parts[1], parts[2]];
    const [label, tone] = LOOKS[what] || [what, "text-bg-secondary"];
    const code = document.createElement("code");
    code.textContent = name;
    const badge = document.createElement("span");
    badge.className = `badge ${tone}`;
    badge.textContent = label;
    const message = cell(event.message);
    message.className = "small";
    const row = document.createElement("tr");
    row.dataset.pod = name;
    row.append(cell(code), cell(badge), message);
    const existing = [...tbody.querySelectorAll("tr[data-pod]")].find((tr) => tr.dataset.pod === name);
    tbody.querySelector("tr[data-empty]")?.remove();
    if (existing) existing.replaceWith(row);
    else tbody.appendChild(row);
  });
})();
