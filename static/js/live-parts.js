// Parts of a page the server draws again when a live message says they may have changed: action
// buttons (what they act on, which apply), incidents, the replica chart, drift.
//   const redraw = portalRedraw(url, pick); redraw();
// `pick(root)` lists [key, element, drawn] for a document: the page's parts, and the same parts in the
// server's answer. One request runs at a time; a call meanwhile asks once more after it. A part drawn
// as before (the same `drawn`) is left alone; one that changed is swapped, keeping what was typed into
// its fields. A part someone is typing in waits until they leave it.
(() => {
  const typed = (part) => [...part.querySelectorAll("input[name], textarea[name]")]
    .filter((field) => field.type !== "hidden" && field.value !== field.defaultValue);

  const swap = (old, fresh) => {
    typed(old).forEach((field) => {
      const same = [...old.querySelectorAll(`[name="${field.name}"]`)].indexOf(field);
      const twin = fresh.querySelectorAll(`[name="${field.name}"]`)[same];
      if (twin) twin.value = field.value;
    });
    old.replaceWith(fresh);
  };

  window.portalRedraw = (url, pick) => {
    let running = false;
    let again = false;
    const redraw = async () => {
      if (running) { again = true; return; }
      running = true;
      try {
        const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!answer.ok) return;
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
        const shown = new Map(pick(document).map(([key, element, drawn]) => [key, [element, drawn]]));
        pick(fresh).forEach(([key, element, drawn]) => {
          const [old, before] = shown.get(key) || [];
          if (!old || before === drawn) return;
          if (old.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) {
            old.addEventListener("focusout", () => redraw(), { once: true });
            return;
          }
          swap(old, document.importNode(element, true));
        });
      } catch (error) {
        // The next message asks again.
      } finally {
        running = false;
        if (again) { again = false; redraw(); }
      }
    };
    return redraw;
  };

  // Markup as drawn, without what differs on every drawing (the form's masked CSRF token).
  window.portalDrawn = (element) => element.outerHTML.replace(/name="csrfmiddlewaretoken" value="[^"]*"/g, "");
})();
