// Run by tests/package/run.sh: what the .d.cts files promise a CommonJS project, require()
// delivers at run time (Node 20.19 or later loads ES modules with require()): every entry
// point gives the same named exports through require() as through import.
const entries = ['authgate', 'authgate/react', 'authgate/vue', 'authgate/axios', 'authgate/next', 'authgate/next/server'];

(async () => {
  for (const entry of entries) {
    const required = Object.keys(require(entry)).filter((k) => k !== '__esModule' && k !== 'module.exports').sort();
    const imported = Object.keys(await import(entry)).sort();
    if (required.length === 0 || required.join() !== imported.join()) {
      throw new Error(`${entry}: require() gives [${required}], import gives [${imported}]`);
    }
  }
  console.log(`require() and import agree on ${entries.length} entry points`);
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
