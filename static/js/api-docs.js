/* Swagger UI for /api/docs, from the vendored bundle: the OpenAPI document of this service
 * only. validatorUrl null: Swagger UI would otherwise send the document to a public validator. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
