// Read at runtime, so one build serves any backend: edit dist/config.js when deploying.
window.AUTHGATE_CONFIG = { apiUrl: 'http://127.0.0.1:8000' };
