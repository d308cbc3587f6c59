// Small behaviours shared by every page. Loaded with <script src>, no inline handlers (CSP).
document.addEventListener("submit", (event) => {
  // <form data-confirm="Question?"> asks before submitting: the confirmation step of destructive buttons.
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// The one way a time reads on a page: HH:MM:SS in UTC, as the server renders it (TIME_ZONE is UTC,
// templates use |time:"H:i:s"), so rows drawn live match the rows drawn by the server.
window.portalTime = (iso) => new Date(iso).toISOString().slice(11, 19);
// A date with the time, as |date:"DATETIME_FORMAT" renders it: YYYY-MM-DD HH:MM:SS in UTC.
window.portalDateTime = (iso) => new Date(iso).toISOString().slice(0, 19).replace("T", " ");
