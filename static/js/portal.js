// Small behaviours shared by every page. Loaded with <script src>, no inline handlers (CSP).
document.addEventListener("submit", (event) => {
  // <form data-confirm="Question?"> asks before submitting: the confirmation step of destructive buttons.
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
