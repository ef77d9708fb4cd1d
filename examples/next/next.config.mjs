// Only tells Next.js this app is its own workspace (the repository root has a lockfile too), and
// lets the tests keep a webpack build and a Turbopack build side by side (NEXT_DIST_DIR).
// Nothing here for authgate: its wasm needs no bundler configuration.
export default {
  outputFileTracingRoot: import.meta.dirname,
  distDir: process.env.NEXT_DIST_DIR || '.next',
};
