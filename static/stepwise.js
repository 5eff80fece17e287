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
  // Polite announcements for changes that move things rather than show a message.
  function announce(text) {
    var region = document.getElementById("announce");
    if (!region) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }
  // A goal moved (204 + HX-Trigger "goal-moved" from goal_move): move only its neighbour's node
  // past it. Nothing is redrawn, so another goal's open edit form keeps its typing, and the
  // moved goal's nodes stay in the document, so the pressed arrow keeps focus.
  document.addEventListener("goal-moved", function (event) {
    var d = event.detail || {};
    var moved = document.getElementById("goal-" + d.goal);
    var other = d.other ? document.getElementById("goal-" + d.other) : null;
    if (!moved) { return; }
    if (!other) {
      announce(d.direction === "up" ? "This goal is already first." : "This goal is already last.");
      return;
    }
    moved.parentNode.insertBefore(other, d.direction === "up" ? moved.nextSibling : moved);
    var pressed = moved.querySelector(".move-" + d.direction);
    if (!pressed || pressed.offsetParent === null) {  // now at the end: its arrow is hidden
      pressed = moved.querySelector(".move-" + (d.direction === "up" ? "down" : "up"));
    }
    if (pressed) { pressed.focus(); }
    announce(d.direction === "up" ? "Goal moved up" : "Goal moved down");
  });
  // A save refused because a colleague saved first (409): the form came back with the conflict
  // view; take focus there so it is read first, not lost on the replaced Save button.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.xhr || event.detail.xhr.status !== 409) { return; }
    var scope = event.detail.elt && event.detail.elt.isConnected ? event.detail.elt : document;
    var box = scope.querySelector(".conflict[tabindex]");
    if (box) { box.focus(); }
  });
  document.addEventListener("htmx:sendError", function () {
    notice("The server could not be reached. Your input is still on the page; try again.");
  });
})();
