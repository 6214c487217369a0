// End-to-end test of the dashboard: Debian's chromium, headless, driven by playwright-core.
// run.sh starts `robotni serve` and passes its address in ROBOTNI_URL.
//   ROBOTNI_URL=http://127.0.0.1:PORT [CHROMIUM=/usr/bin/chromium] [E2E_OUT=dir] node dashboard.spec.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, rowState, seenStates, step, waitFor, watchRows } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.ROBOTNI_URL;
const OUT = process.env.E2E_OUT || path.join(here, 'out');
const TOKEN = process.env.ROBOTNI_TOKEN || '';
assert.ok(BASE, 'ROBOTNI_URL is not set');
mkdirSync(OUT, { recursive: true });

const { page, consoleErrors, close } = await launch();
let failed = false;

try {
  if (TOKEN) await page.addInitScript((t) => localStorage.setItem('robotni.token', t), TOKEN);

  // 1. The page and its assets come from the binary, with a strict CSP.
  const res = await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200);
  const headers = res.headers();
  assert.match(headers['content-type'], /^text\/html/);
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.ok(headers.etag, 'ETag on /');
  step(`GET / 200, CSP: ${headers['content-security-policy']}`);

  // 2. Queues and the generated form.
  await page.waitForSelector('#submit-type option[value="fakejob"]', { state: 'attached' });
  await page.waitForSelector('#live:not(.down)');
  await page.selectOption('#submit-type', 'fakejob');
  const field = page.locator('form.submit[data-type="fakejob"] input[data-field="delay_seconds"]');
  assert.equal(await field.getAttribute('type'), 'number', 'delay_seconds is a number input');
  await page.selectOption('#submit-type', 'add');
  assert.equal(await page.locator('form.submit[data-type="add"] [data-field="x"]').getAttribute('required'), '',
    'add.x is marked required');
  assert.equal(await page.locator('form.submit[data-type="add"] .req').count(), 2);
  await page.selectOption('#submit-type', 'fakejob');
  step('forms generated from the input schemas');

  // 2b. run.sh put a robot's work items in the store first (queue "orders", ids 1-3). They are
  // not jobs: their queue has a section of its own, the job queues and the jobs table do not
  // show them, and the job API has no job 1.
  await page.waitForSelector('#robot-queues-card:not([hidden]) #robot-queues tr[data-queue="orders"]');
  assert.equal(Number(await page.locator('#robot-queues tr[data-queue="orders"] td').nth(1).textContent()), 3,
    'the robot queue counts its 3 queued work items');
  assert.equal(await page.locator('#queues tr[data-queue="orders"]').count(), 0, 'orders is not a job queue');
  assert.equal(await page.locator('#jobs tr[data-type="orders"]').count(), 0, 'no work item in the jobs table');
  const one = await page.evaluate(async () => {
    const r = await fetch('/api/worker/jobs/1', { cache: 'no-store' });
    return { status: r.status, body: await r.text() };
  });
  assert.equal(one.status, 404, `GET /api/worker/jobs/1: ${one.body}`);
  assert.match(one.body, /no job 1/);
  step('robot queue "orders" shown apart; /api/worker/jobs/1 (a work item) is 404');

  // 3. Submit a fakejob from the page and watch its row go queued -> running -> done.
  await field.fill('2');
  await watchRows(page);
  await page.click('form.submit[data-type="fakejob"] button[type="submit"]');
  const msg = await waitFor(async () => {
    const t = await page.textContent('#submit-msg');
    return /#(\d+)/.test(t || '') && t;
  }, 'the submit answer', 10000);
  const jobId = msg.match(/#(\d+)/)[1];
  step(`submitted fakejob #${jobId}`);
  await waitFor(async () => (await rowState(page, jobId)) === 'done', `job #${jobId} done`, 30000);
  const seen = await seenStates(page, jobId);
  step(`row states seen: ${seen.join(' -> ')}`);
  assert.deepEqual(seen.filter((s) => ['queued', 'running', 'done'].includes(s)),
    ['queued', 'running', 'done'], `expected queued -> running -> done, saw ${seen.join(' -> ')}`);

  // 4. The detail panel shows the result and a timeline; the queue counts it as done.
  await page.waitForSelector('#detail-card:not([hidden])');
  await waitFor(async () => /"waited"/.test(await page.textContent('#detail-result')), 'the result in the detail panel');
  await waitFor(async () => (await page.locator('#detail-timeline li').count()) >= 2, 'the timeline');
  await waitFor(async () => {
    const done = await page.locator('#queues tr[data-queue="fakejob"] td').nth(4).textContent();
    return Number(done) >= 1;
  }, 'the fakejob queue to count a done job');
  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
  step(`screenshot: ${path.join(OUT, 'dashboard.png')}`);

  // 5. Cancel a long job from its row, then retry it.
  await page.fill('form.submit[data-type="fakejob"] input[data-field="delay_seconds"]', '60');
  // At least 60 s, so the job is still running when Cancel is clicked.
  await page.fill('form.submit[data-type="fakejob"] input[data-field="min_seconds"]', '60');
  await page.click('form.submit[data-type="fakejob"] button[type="submit"]');
  const msg2 = await waitFor(async () => {
    const t = await page.textContent('#submit-msg');
    return t && t !== msg && /#(\d+)/.test(t) && t;
  }, 'the second submit answer', 10000);
  const longId = msg2.match(/#(\d+)/)[1];
  await page.locator(`#jobs tr[data-job-id="${longId}"] button[data-action="cancel"]`).click();
  await waitFor(async () => ['cancelled', 'failed'].includes(await rowState(page, longId)),
    `job #${longId} cancelled`, 20000);
  step(`job #${longId} ${await rowState(page, longId)} from its Cancel button`);
  await page.locator(`#jobs tr[data-job-id="${longId}"] button[data-action="retry"]`).click();
  await waitFor(async () => ['queued', 'running'].includes(await rowState(page, longId)),
    `job #${longId} queued again`, 10000);
  step(`job #${longId} ${await rowState(page, longId)} again after Retry`);
  // Cleanup: the rerun draws a new random delay and may finish (done, no Cancel button) first.
  await page.locator(`#jobs tr[data-job-id="${longId}"] button[data-action="cancel"]`)
    .click({ timeout: 5000 }).catch(() => {});
  await waitFor(async () => ['cancelled', 'failed', 'done'].includes(await rowState(page, longId)),
    `job #${longId} cancelled again (or done)`, 20000);

  // 6. With --no-auth, a POST a foreign page could send (text/plain, no preflight) is refused;
  // the dashboard's own POSTs above said JSON.
  if (!TOKEN) {
    const plain = await page.evaluate(async () => {
      const r = await fetch('/api/worker/jobs', { method: 'POST', headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ type: 'fakejob', params: {} }) });
      return { status: r.status, body: await r.text() };
    });
    assert.equal(plain.status, 415, `text/plain POST: ${plain.body}`);
    assert.match(plain.body, /application\/json/);
    step('text/plain POST from the page: 415');
  }

  // Expected: 404 where a job has no captured output (GET .../log), 405 from the route probes,
  // 415 from step 6.
  const errors = consoleErrors.filter((m) => !/status of (404|405|415)/.test(m));
  assert.deepEqual(errors, [], 'no errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error('[e2e] FAIL:', e.message);
  await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
