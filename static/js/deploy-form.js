// The deploy form: choosing an application loads its releases (a GET round-trip), and only the
// fields of the chosen strategy show.
(() => {
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => { if (select.value) select.form.submit(); });
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
