// Keyboard shortcuts: a key press clicks the answer button whose data-key matches. Keys typed
// into the comment box stay text. A form is sent once: a second click or key press while the
// next page loads would only be refused as a repeat.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const target = event.target;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement) return;
  const button = document.querySelector(`button[data-key="${CSS.escape(event.key.toLowerCase())}"]`);
  if (button) {
    event.preventDefault();
    button.click();
  }
});

for (const form of document.querySelectorAll("form.answer")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.classList.add("sent");
  });
}
