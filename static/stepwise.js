// The few behaviours htmx attributes do not cover. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  function notice(text) {
    var flash = document.getElementById("flash");
    if (!flash) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.textContent = text;
    flash.replaceChildren(p);
  }
  // htmx does not swap 4xx/5xx responses (except 409 and 422, see htmx-config): say what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 404) { notice("This record is not available. It may have been removed."); }
    else if (status === 400) {
      // The server's own reason when it gave one (a field it could not read, a control
      // character): the typing is still in the form, unlike after a reload.
      var said = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html")
        .querySelector(".error-message");
      notice(said && said.textContent.indexOf("security token") < 0 ? said.textContent
        : "The page has expired. Reload it and try again; nothing was saved.");
    }
    else if (status === 429) { notice("Too many requests. Wait a moment and try again."); }
    else { notice("Something went wrong (" + status + "). Your input was not saved; try again."); }
  });
  document.addEventListener("htmx:sendError", function () {
    notice("The server could not be reached. Your input is still on the page; try again.");
  });
})();
