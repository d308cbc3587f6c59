// The pods of one deployment, as the cluster has them now. Pod events are history, so they are not
// folded into the table: any event (a pod, the rollout, a scale or restart) (as deployment-live.js appends it) only says the pods
// may have changed, and the table is read again from the API. When the cluster cannot be read the
// table empties and says so, rather than keep showing what was last seen as current.
(() => {
  const card = document.getElementById("pods-card");
  const tbody = document.querySelector("#pods tbody");
  if (!card || !tbody) return;
  const warning = document.getElementById("pods-error");
  const TONES = {
    ready: "text-bg-success", starting: "text-bg-secondary", terminating: "text-bg-light border",
    "image pull error": "text-bg-danger", "crash loop": "text-bg-danger",
  };

  const cell = (child) => {
    const td = document.createElement("td");
    td.append(child);
    return td;
  };

  const row = (pod) => {
    const code = document.createElement("code");
    code.textContent = pod.name;
    const badge = document.createElement("span");
    badge.className = `badge ${TONES[pod.state] || "text-bg-secondary"}`;
    badge.textContent = pod.state;
    const message = cell(pod.message);
    message.className = "small";
    const tr = document.createElement("tr");
    tr.dataset.pod = pod.name;
    tr.append(cell(code), cell(badge), cell(String(pod.restarts)), message);
    return tr;
  };

  const show = (answer, ok) => {
    warning.hidden = ok;
    if (!ok) warning.textContent = `${answer.detail || "The cluster could not be read."} Pods are not shown, since what was last seen may no longer be true.`;
    tbody.replaceChildren(...(ok ? answer.pods.map(row) : []));
    if (ok && !answer.pods.length) {
      const empty = cell("Not live: no pod of this release runs now.");
      empty.colSpan = 4;
      empty.className = "small text-body-secondary py-3";
      const tr = document.createElement("tr");
      tr.dataset.empty = "";
      tr.append(empty);
      tbody.append(tr);
    }
  };

  let timer = null;
  const refresh = () => {
    fetch(card.dataset.podsUrl, { credentials: "same-origin" })
      .then((response) => response.json().then((answer) => show(answer, response.ok)))
      .catch(() => show({}, false));
  };

  // Several events arrive together while pods move; one read after they settle is enough.
  document.addEventListener("deployment:event", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
