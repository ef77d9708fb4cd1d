// The anchors the page compares authgate with, bundled once by run.mjs (esbuild) for the browser.
export { default as axios } from 'axios';
export { default as createAuthRefreshInterceptor } from 'axios-auth-refresh';
export { default as ky } from 'ky';
export { ofetch, createFetch } from 'ofetch';
