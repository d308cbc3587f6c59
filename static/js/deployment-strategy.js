// The canary steps and the Continue / Switch back buttons, kept current: whenever the live event list
// (deployment-live.js) gains a row, the deployment is read again from the API and the card redrawn.
(() => {
  const card = document.getElementById("deployment-strategy");
  const events = document.querySelector("#events tbody");
  if (!card || !events) return;
  const mayChange = card.dataset.mayChange === "1";
  const LOOKS = { done: "list-group-item-success", current: "list-group-item-primary", todo: "text-body-secondary" };
  let timer = null;

  const show = (id, visible) => {
    const element = document.getElementById(id);
    if (element) element.hidden = !visible;
  };

  // The canary's live traffic rule in words, as the page first said it (deployment_strategy.rule_text).
  const ruleText = (rule) => {
    const parts = [];
    if (rule.header) parts.push(`header ${rule.header.name}: ${rule.header.value}`);
    if (rule.cookie) parts.push(`cookie ${rule.cookie}=always`);
    const matched = parts.length ? `requests with ${parts.join(" or ")}, and ` : "";
    return `The canary takes ${matched}${rule.weight}% of the other requests.`;
  };

  const redraw = (deployment) => {
    const finished = deployment.state === "succeeded";
    document.querySelectorAll(".canary-step").forEach((item) => {
      const number = Number(item.dataset.step);
      const look = finished || number < deployment.step ? "done" : number === deployment.step ? "current" : "todo";
      item.className = `list-group-item flex-fill canary-step ${LOOKS[look]}`;
      item.dataset.status = look;
    });
    const rule = deployment.canary_traffic;
    show("canary-rule", Boolean(rule));
    const text = document.getElementById("canary-rule-text");
    if (text && rule) text.textContent = ruleText(rule);
    const waiting = deployment.state === "progressing" && deployment.waiting;
    show("canary-waiting", waiting);
    show("continue-form", mayChange && waiting);
    const keeps = deployment.switch_back_until && new Date(deployment.switch_back_until) > new Date();
    show("switch-back-form", mayChange && finished && keeps && !deployment.switched_back_at);
    show("blue-green-switched", Boolean(deployment.switched_back_at));
    show("blue-green-kept", keeps && !deployment.switched_back_at);
    const kept = document.querySelector("#blue-green-kept time");
    if (kept && keeps) {
      kept.dateTime = deployment.switch_back_until;
      kept.textContent = new Date(deployment.switch_back_until).toLocaleTimeString([], { hour12: false });
    }
  };

  const refresh = () => {
    fetch(card.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((deployment) => { if (deployment) redraw(deployment); })
      .catch(() => {});
  };

  new MutationObserver(() => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 150);
  }).observe(events, { childList: true });
})();
