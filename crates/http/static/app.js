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
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});
