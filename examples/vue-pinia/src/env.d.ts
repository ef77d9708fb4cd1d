// public/config.js sets this at runtime, so one build serves any backend.
interface Window {
  AUTHGATE_CONFIG?: { apiUrl?: string };
}
