// Light progressive enhancement: every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Forms that destroy something ask first (data-confirm="..."); the server checks anyway.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // A "copy" button next to text shown once (a new API key).
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim());
    });
  }
});
