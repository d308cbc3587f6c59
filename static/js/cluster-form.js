// Cluster registration: show only the fields the chosen authentication method uses. Fields name
// their methods in data-auth-for; with JavaScript off every field stays visible and the server
// drops the ones the method does not use.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-auth-switch]");
  if (!select) return;
  const fields = select.form.querySelectorAll("[data-auth-for]");
  const show = () => {
    for (const field of fields) {
      const wrapper = field.closest(".mb-3") || field;
      wrapper.hidden = !field.dataset.authFor.split(" ").includes(select.value);
    }
  };
  select.addEventListener("change", show);
  show();
});
