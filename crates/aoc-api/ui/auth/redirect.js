"use strict";
// Entra ID's answer to a sign-in, handed back to the dashboard by MSAL's redirect bridge.
window.msalRedirectBridge.broadcastResponseToMainFrame().catch((error) => {
  document.body.textContent = "Sign-in did not complete: " + (error && error.message ? error.message : error) + ". ";
  const back = document.createElement("a");
  back.href = "/";
  back.textContent = "Back to AOC";
  document.body.appendChild(back);
});
