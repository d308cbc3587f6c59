// Copy buttons: <button data-copy-target="#id"> copies the value of the named input, once per click.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copyTarget);
  if (!input) return;
  const label = button.querySelector(".copy-label");
  try {
    await navigator.clipboard.writeText(input.value);
    if (label) label.textContent = "Copied";
  } catch {
    input.select();
    if (label) label.textContent = "Press Ctrl+C";
  }
});
