// Shared by the scenario specs (startup, refresh-storm, missing-bearer, cors, tabs, leak, expiry, persistence):
// the repo root the static server serves, the harness page, and the test hooks
// of the real backends (tests/servers/README.md).
import { expect } from '@playwright/test';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The harness page (tests/browser/pages/harness.html) served by `web`. */
export const harnessUrl = (web) => `${web.origin}/tests/browser/pages/harness.html`;

/**
 * Opens the harness in `page`, collecting page errors (uncaught exceptions and
 * unhandled rejections) in the returned array.
 */
export async function openHarness(page, web) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(harnessUrl(web));
  await expect(page.locator('html')).toHaveAttribute('data-harness', 'ready');
  return errors;
}

/** Waits until the harness is loaded again after a reload. */
export async function harnessReady(page) {
  await expect(page.locator('html')).toHaveAttribute('data-harness', 'ready');
}

async function hook(server, path, init) {
  const response = await fetch(`${server.origin}${path}`, init);
  if (!response.ok) throw new Error(`${path} on ${server.origin}: HTTP ${response.status}`);
  return response.json();
}

/** What the server saw: {requests, preflights, status_401, status_403, logins, refreshes, auth_headers, by_path}. */
export const counters = (server) => hook(server, '/__counters');
export const resetCounters = (server) => hook(server, '/__reset', { method: 'POST' });
/** Every refresh token issued so far stops working (an expired session). */
export const revokeSessions = (server) => hook(server, '/__revoke', { method: 'POST' });
/** Access tokens issued from now on live `seconds`. */
export const setAccessTtl = (server, seconds) =>
  hook(server, '/__control', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ access_ttl: seconds }),
  });

/** The recorder's log: [{method, path, headers}] (lower-case header names). */
export const recorderLog = async (recorder) => (await hook(recorder, '/__log')).requests;
export const resetRecorder = (recorder) => hook(recorder, '/__reset', { method: 'POST' });

/** One path's entry in the counters ({requests, preflights, bearer, statuses}), zeros when never seen. */
export function pathSeen(seen, path) {
  return seen.by_path[path] ?? { requests: 0, preflights: 0, bearer: 0, statuses: {} };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
