// Small behaviours shared by every page. No inline scripts or handlers anywhere: the
// Content-Security-Policy allows scripts from our static files only.
"use strict";

// <select data-autosubmit>: submit the form as soon as the choice changes.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});
