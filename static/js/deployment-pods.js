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

  // Pods keep moving after the event that started it (a scale's new pod appears seconds later, with no
  // event of its own once the rollout is over), so after an event the table is read every 2 s for 30 s,
  // and longer while a pod is still starting or terminating; otherwise every 15 s, since the cluster
  // also changes without the portal (kubectl). Only while the page is visible.
  const FOLLOW_MS = 2000, FOLLOW_FOR_MS = 30000, IDLE_MS = 15000;
  let timer = null, followUntil = 0, moving = false;
  const schedule = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  };
  // "Serving now" (the release the Service routes to) is read on the same beat: a switch back or a
  // newer deployment changes it, and like the pods it is the cluster's word, not the events'.
  const serving = document.getElementById("deployment-serving");
  const showServing = () => {
    if (!serving) return;
    fetch(serving.dataset.url, { credentials: "same-origin" })
      .then((response) => response.json().then((answer) => {
        const text = serving.firstElementChild;
        text.textContent = response.ok ? answer.summary : (answer.detail || "The cluster could not be read.");
        text.className = response.ok ? "" : "text-warning-emphasis";
        serving.dataset.release = response.ok ? (answer.release_number ?? "") : "";
        serving.dataset.colour = response.ok ? answer.colour : "";
      }))
      .catch(() => {});
  };
  const refresh = () => {
    if (document.hidden) return schedule(IDLE_MS);
    showServing();
    fetch(card.dataset.podsUrl, { credentials: "same-origin" })
      .then((response) => response.json().then((answer) => {
        show(answer, response.ok);
        moving = response.ok && answer.pods.some((pod) => pod.state !== "ready");
      }))
      .catch(() => show({}, false))
      .finally(() => schedule(moving || Date.now() < followUntil ? FOLLOW_MS : IDLE_MS));
  };

  document.addEventListener("deployment:event", () => {
    followUntil = Date.now() + FOLLOW_FOR_MS;
    schedule(300); // several events arrive together while pods move; one read after they settle
  });
  schedule(IDLE_MS);
})();
