/* Event registration: preselect the browser's time zone in the form's list (nothing else).
 * Without JavaScript the list keeps the organisation's zone and the person can choose. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  document.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.selectedIndex = i; return; }
    }
  });
})();
