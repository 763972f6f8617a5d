/* ReDoc for /redoc, from the vendored standalone bundle. The page's nonce goes on the style
 * elements ReDoc creates (the page's CSP allows styles with that nonce only). */
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  Redoc.init(
    root.getAttribute("data-openapi-url"),
    { nonce: root.getAttribute("data-nonce"), hideDownloadButton: false },
    root
  );
})();
