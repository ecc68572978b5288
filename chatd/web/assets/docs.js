// The API page at /docs: Swagger UI (vendored, served by chatd) over chatd's own
// OpenAPI document. No validator badge, which would call a server elsewhere.
window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
