// Playwright runs the browser specs in Debian's Chromium (never `npx playwright
// install`: its browser download is not available here). Each spec starts the
// real backends it needs through tests/servers/launch.js.
import { defineConfig, devices } from '@playwright/test';

export default defineConfig({
  testDir: 'tests/browser',
  // Two cores: one worker keeps timing-sensitive specs (token expiry, refresh
  // deadlines) from competing with a second browser and its servers.
  workers: 1,
  fullyParallel: false,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: 'list',
  use: {
    ...devices['Desktop Chrome'],
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--no-sandbox', // root in CI containers
        '--disable-gpu',
      ],
    },
  },
  projects: [{ name: 'chromium' }],
});
