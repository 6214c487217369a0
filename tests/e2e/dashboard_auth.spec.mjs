// End-to-end test of the dashboard with API tokens on: run.sh starts `robotni serve
// --token-file` and passes a read+write token and a read-only one. A fresh browser (empty
// localStorage) opens the page: the shell loads without a token and asks for one; a wrong
// token is refused with the server's message; the read-only token reads but cannot submit;
// the read+write token submits a fakejob that reaches done, and is remembered on reload.
//   ROBOTNI_URL=... ROBOTNI_TOKEN=<read,write> ROBOTNI_READ_TOKEN=<read> node dashboard_auth.spec.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, rowState, seenStates, step, waitFor, watchRows } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.ROBOTNI_URL;
const OUT = process.env.E2E_OUT || path.join(here, 'out');
const TOKEN = process.env.ROBOTNI_TOKEN;
const READ_TOKEN = process.env.ROBOTNI_READ_TOKEN;
assert.ok(BASE && TOKEN && READ_TOKEN, 'ROBOTNI_URL, ROBOTNI_TOKEN and ROBOTNI_READ_TOKEN are needed');
mkdirSync(OUT, { recursive: true });

const { page, consoleErrors, close } = await launch();
let failed = false;

const authState = () => page.evaluate(() => document.body.dataset.auth || '');
const text = async (sel) => ((await page.textContent(sel)) || '').trim();
async function saveToken(t) {
  await page.fill('#token', t);
  await page.click('#token-form button[type="submit"]');
}
// A request from the page's origin, as a script on it would make it.
const probe = (method, url, token) => page.evaluate(async ([m, u, t]) => {
  const headers = t ? { Authorization: 'Bearer ' + t } : {};
  const r = await fetch(u, { method: m, headers, cache: 'no-store' });
  return { status: r.status, allow: r.headers.get('allow'), www: r.headers.get('www-authenticate'),
    body: await r.text() };
}, [method, url, token || '']);

try {
  // 1. The shell is open: the page loads with no token and says it needs one.
  const res = await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200, 'GET / is open');
  assert.equal(await page.evaluate(() => localStorage.getItem('robotni.token')), null);
  await waitFor(async () => (await authState()) === 'needed', 'the "needs token" state', 10000);
  await waitFor(async () => (await text('#live-text')) === 'needs token', 'live: needs token', 10000);
  assert.match(await text('#banner'), /needs an API token/);
  assert.equal(await page.locator('#submit-type option').count(), 0, 'no job types without a token');
  await page.screenshot({ path: path.join(OUT, 'auth-needed.png'), fullPage: true });
  step('no token: the page loads, says "needs token", shows no data');

  // 2. What a client without a token learns: 401 for anything under /api, known or not;
  //    404 elsewhere; the open documents answer.
  for (const [m, u] of [['GET', '/api/worker/types'], ['GET', '/api/nope'], ['PUT', '/api/worker/jobs/1'],
    ['OPTIONS', '/api/worker/jobs/1']]) {
    const r = await probe(m, u);
    assert.equal(r.status, 401, `${m} ${u} without a token`);
    assert.match(r.www || '', /^Bearer realm="robotni"/);
    assert.equal(r.allow, null, `${m} ${u}: no Allow for a stranger`);
  }
  assert.equal((await probe('GET', '/nope')).status, 404);
  assert.equal((await probe('GET', '/api/nope', READ_TOKEN)).status, 404);
  assert.equal((await probe('PUT', '/api/worker/jobs/1', TOKEN)).status, 405);
  const spec = await probe('GET', '/openapi.json');
  assert.equal(spec.status, 200, '/openapi.json is open');
  assert.match(JSON.parse(spec.body).openapi, /^3\./);
  step('without a token: /api/* 401 (known or not), /nope 404, /openapi.json 200');

  // 3. A wrong token: refused, with the server's reason.
  await saveToken('not-the-token');
  await waitFor(async () => (await authState()) === 'rejected', 'the "token refused" state', 10000);
  await waitFor(async () => (await text('#live-text')) === 'token refused', 'live: token refused', 10000);
  const refused = await text('#banner');
  assert.match(refused, /refused the API token/);
  assert.match(refused, /not valid/);
  assert.equal(await page.locator('#banner.error').count(), 1, 'shown as an error');
  await page.screenshot({ path: path.join(OUT, 'auth-refused.png'), fullPage: true });
  step(`wrong token: "${refused}"`);

  // 4. A read-only token: the page fills in, a submit is refused for want of the write scope.
  await saveToken(READ_TOKEN);
  await page.waitForSelector('#submit-type option[value="fakejob"]', { state: 'attached', timeout: 10000 });
  await waitFor(async () => (await text('#live-text')) === 'live', 'live with the read token', 10000);
  assert.equal(await page.locator('#banner').isVisible(), false, 'the banner is gone');
  await page.selectOption('#submit-type', 'fakejob');
  await page.fill('form.submit[data-type="fakejob"] input[data-field="delay_seconds"]', '1');
  await page.click('form.submit[data-type="fakejob"] button[type="submit"]');
  await waitFor(async () => /lacks the write scope/.test(await text('#submit-msg')),
    'the write-scope refusal', 10000);
  step(`read-only token: lists; submit says "${await text('#submit-msg')}"`);

  // 5. The read+write token: submit a fakejob and watch it reach done.
  await saveToken(TOKEN);
  await waitFor(async () => (await authState()) === 'ok', 'the ok state', 10000);
  await page.selectOption('#submit-type', 'fakejob');
  await page.fill('form.submit[data-type="fakejob"] input[data-field="delay_seconds"]', '1');
  await watchRows(page);
  await page.click('form.submit[data-type="fakejob"] button[type="submit"]');
  const msg = await waitFor(async () => {
    const t = await text('#submit-msg');
    return /Queued job #(\d+)/.test(t) && t;
  }, 'the submit answer', 10000);
  const jobId = msg.match(/#(\d+)/)[1];
  await waitFor(async () => (await rowState(page, jobId)) === 'done', `job #${jobId} done`, 30000);
  const seen = await seenStates(page, jobId);
  assert.deepEqual(seen.filter((s) => ['queued', 'running', 'done'].includes(s)).at(-1), 'done');
  assert.equal(await page.evaluate(() => localStorage.getItem('robotni.token')), TOKEN);
  step(`read+write token: fakejob #${jobId} ${seen.join(' -> ')}`);

  // 6. The token is remembered: a reload is live with no typing.
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitFor(async () => (await text('#live-text')) === 'live', 'live after a reload', 10000);
  assert.equal(await page.inputValue('#token'), TOKEN);
  await page.waitForSelector(`#jobs tr[data-job-id="${jobId}"][data-state="done"]`, { timeout: 10000 });
  await page.screenshot({ path: path.join(OUT, 'auth-live.png'), fullPage: true });
  step('reload: the stored token is used');

  // The browser logs every refused request (401, 403) and the route probes (404, 405).
  const errors = consoleErrors.filter((m) => !/status of (401|403|404|405)/.test(m));
  assert.deepEqual(errors, [], 'no other errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error('[e2e] FAIL:', e.message);
  // What the page showed then, so a failure in CI says which state it was stuck in.
  const shown = await page.evaluate(() => ({
    auth: document.body.dataset.auth, live: document.getElementById('live-text').textContent,
    banner: document.getElementById('banner').textContent,
  })).catch((err) => ({ unreadable: String(err) }));
  console.error('[e2e] page:', JSON.stringify(shown));
  await page.screenshot({ path: path.join(OUT, 'auth-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
