// Copy the new key to the clipboard (the page is the only place it is ever shown).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (e) {
    document.execCommand("copy");
  }
  const status = document.getElementById("copy-status");
  if (status) status.textContent = "Copied.";
});
