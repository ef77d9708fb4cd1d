// Only tells Next.js this app is its own workspace (the repository root has a lockfile too).
// Nothing here for authgate: its wasm needs no bundler configuration.
export default { outputFileTracingRoot: import.meta.dirname };
