// Starts Swagger UI on the API document (a file, not inline: see the Content-Security-Policy).
window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger' });
