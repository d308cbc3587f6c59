// The deploy form: choosing an application loads its releases (a GET round-trip), and only the
// fields of the chosen strategy show.
(() => {
  // Its Next button shows until this script runs, and stays for whoever picked before it had loaded (or
  // whose pick the browser restored): picking the same again is no change.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => { if (select.value) select.form.submit(); });
    if (!select.value) {
      select.form.querySelectorAll("[data-autosubmit-button]").forEach((button) => { button.hidden = true; });
    }
  });
  const strategy = document.querySelector("#deploy-form select[name=strategy]");
  if (!strategy) return;
  const show = () => {
    document.querySelectorAll("[data-strategy-only]").forEach((row) => {
      row.hidden = row.dataset.strategyOnly !== strategy.value;
    });
  };
  strategy.addEventListener("change", show);
  show();
})();
