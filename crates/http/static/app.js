// The only script: copy buttons. Every page works without it.
"use strict";
// Errors and CSP violations, recorded for the browser tests to read.
window.lsErrors = [];
window.addEventListener("error", function (e) { window.lsErrors.push("error: " + e.message); });
document.addEventListener("securitypolicyviolation", function (e) {
  window.lsErrors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      var done = function () { button.textContent = "Copied"; };
      field.focus();
      field.select();
      // The synchronous copy first: the asynchronous clipboard API may wait
      // on a permission that never comes (headless browsers, some policies).
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      if (copied) { done(); }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (!copied) { button.textContent = "Press Ctrl+C"; }
        });
      } else if (!copied) {
        button.textContent = "Press Ctrl+C";
      }
    });
  });
});
