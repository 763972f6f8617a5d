/* Sign-up and preferences: fill an empty time-zone field with the browser's own zone, so
 * event times arrive in the reader's time. The field stays editable (a datalist, searchable
 * by city); without JavaScript it stays empty and the organisation's zone is used.
 * Only a zone the form offers is filled in, so the server never refuses what we guessed. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  document.querySelectorAll("input[data-detect-timezone]").forEach(function (input) {
    if (input.value) return;
    var list = input.list;
    if (!list) return;
    for (var i = 0; i < list.options.length; i++) {
      if (list.options[i].value === zone) { input.value = zone; return; }
    }
  });
})();
