// Sign-in by the link `robotni serve` prints (issue #16 point 6): run.sh starts serve with a
// token file (read+write first) and passes its log. A fresh browser (empty localStorage) opens
// `dashboard: http://HOST:PORT/#token=...`: the page is signed in, has stored the token as a
// pasted one is stored, and the address bar no longer holds it.
//   ROBOTNI_URL=... ROBOTNI_TOKEN=<read,write> SERVE_LOG=<serve's output> node dashboard_signin.spec.mjs
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, step, waitFor } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.ROBOTNI_URL;
const OUT = process.env.E2E_OUT || path.join(here, 'out');
const TOKEN = process.env.ROBOTNI_TOKEN;
const LOG = process.env.SERVE_LOG;
assert.ok(BASE && TOKEN && LOG, 'ROBOTNI_URL, ROBOTNI_TOKEN and SERVE_LOG are needed');
mkdirSync(OUT, { recursive: true });

const { page, consoleErrors, close } = await launch();
let failed = false;

try {
  // 1. serve printed the link, with the read+write token in the fragment.
  const link = await waitFor(() => {
    const m = /dashboard: (http:\/\/\S+)/.exec(readFileSync(LOG, 'utf8'));
    return m && m[1];
  }, 'the "dashboard:" line in serve\'s log', 10000);
  assert.equal(link, `${BASE}/#token=${TOKEN}`, 'the link is the server\'s address with the read+write token');
  step('serve printed the sign-in link');

  // 2. Open it: signed in (live, job types loaded), token stored, address bar clean.
  await page.goto(link, { waitUntil: 'domcontentloaded' });
  await waitFor(async () => (await page.evaluate(() => document.body.dataset.auth)) === 'ok', 'signed in', 10000);
  await page.waitForSelector('#live:not(.down)');
  await page.waitForSelector('#submit-type option[value="fakejob"]', { state: 'attached' });
  assert.equal(await page.evaluate(() => localStorage.getItem('robotni.token')), TOKEN, 'the token is stored');
  assert.equal(await page.inputValue('#token'), TOKEN, 'the token field shows it, as after a paste');
  const url = page.url();
  assert.ok(!url.includes('token') && !url.includes(TOKEN), `the address bar holds no token: ${url}`);
  assert.equal(url, `${BASE}/`);
  assert.equal(await page.evaluate(() => location.hash), '');
  await page.screenshot({ path: path.join(OUT, 'signin.png') });
  step(`signed in by the link; the address is now ${url}`);

  // 3. Reloaded, the page is still signed in from the stored token.
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitFor(async () => (await page.evaluate(() => document.body.dataset.auth)) === 'ok', 'signed in after reload', 10000);
  step('still signed in after a reload');

  const errors = consoleErrors.filter((m) => !/status of (404|405)/.test(m));
  assert.deepEqual(errors, [], 'no errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error('[e2e] FAIL:', e.message);
  await page.screenshot({ path: path.join(OUT, 'signin-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
