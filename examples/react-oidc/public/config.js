// Read at runtime, so one build serves any provider and API: edit dist/config.js when deploying.
window.AUTHGATE_CONFIG = {
  issuer: 'http://127.0.0.1:3000',
  clientId: 'authgate-spa',
  apiUrl: 'http://127.0.0.1:8001',
};
