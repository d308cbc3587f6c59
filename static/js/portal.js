// Small behaviours shared by every page. Loaded with <script src>, no inline handlers (CSP).
document.addEventListener("submit", (event) => {
  // <form data-confirm="Question?"> asks before submitting: the confirmation step of destructive buttons.
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// <form data-submit-once> is sent once: a second click while the first sending is on its way does nothing
// (the server refuses a second sending of its token too, apps/core/once.py). A page shown again from the
// browser's history may send it again, and the server answers that.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !form.dataset || !("submitOnce" in form.dataset)) return;
  if (form.dataset.sent) event.preventDefault();
  else form.dataset.sent = "1";
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) document.querySelectorAll("form[data-sent]").forEach((form) => { delete form.dataset.sent; });
});

// The one way a time reads on a page: HH:MM:SS in UTC, as the server renders it (TIME_ZONE is UTC,
// templates use |time:"H:i:s"), so rows drawn live match the rows drawn by the server.
window.portalTime = (iso) => new Date(iso).toISOString().slice(11, 19);
// A date with the time, as |date:"DATETIME_FORMAT" renders it: YYYY-MM-DD HH:MM:SS in UTC.
window.portalDateTime = (iso) => new Date(iso).toISOString().slice(0, 19).replace("T", " ");
