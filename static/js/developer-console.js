// Developer console: switching tenant reloads the page for it; copy buttons copy a snippet's text.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("console-tenant");
  if (select) select.addEventListener("change", () => select.form.submit());
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-text]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyText);
  if (!source) return;
  const label = button.querySelector(".copy-label");
  try {
    await navigator.clipboard.writeText(source.textContent);
    if (label) label.textContent = "Copied";
  } catch {
    window.getSelection().selectAllChildren(source);
    if (label) label.textContent = "Press Ctrl+C";
  }
});
