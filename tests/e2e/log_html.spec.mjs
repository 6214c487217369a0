// log.html in headless Chromium: runs the fixture robot tests/fixtures/robots/log_html with
// the real robotni binary (in a temporary copy), opens the output/log.html it wrote from
// file:// and checks what a person sees: the run, its tasks with status and duration,
// messages with level and time, a traceback, a row per work item, and no secret.
//   ROBOTNI_BIN=build/robotni [CHROMIUM=/usr/bin/chromium] [E2E_OUT=dir] node log_html.spec.mjs
// run.sh runs it: tests/e2e/run.sh <path/to/robotni> log
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch, step } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const BIN = process.env.ROBOTNI_BIN || process.argv[2];
const OUT = process.env.E2E_OUT || path.join(here, 'out');
assert.ok(BIN, 'ROBOTNI_BIN is not set');
mkdirSync(OUT, { recursive: true });

const SECRETS = ['tok-e2e-7c41d9', 'hunter2-e2e', 'pw-in-payload-5521'];

// 1. Run the fixture robot with the binary, in a copy (the run writes output/ and a store).
const work = mkdtempSync(path.join(tmpdir(), 'robotni-e2e-log-'));
const robot = path.join(work, 'robot');
cpSync(path.join(root, 'tests', 'fixtures', 'robots', 'log_html'), robot, { recursive: true });
const run = spawnSync(path.resolve(BIN), ['run', '-r', 'robot.yaml', '-t', 'Orders',
  '--store', path.join(work, 'wi.db'), '--input', 'work-items.json'],
{ cwd: robot, encoding: 'utf-8', timeout: 120000 });
step(`robotni run exited ${run.status}`);
if (!run.status) {  // robotni's code for a failed task (rcc's, 10), never 0
  console.error(run.stdout, run.stderr);
  assert.fail(`expected a failed run (check_login fails), got exit code ${run.status}`);
}
assert.match(run.stdout, /process_orders status: PASS/);
assert.match(run.stdout, /check_login status: FAIL/);
const logHtml = path.join(robot, 'output', 'log.html');
assert.ok(existsSync(logHtml), `${logHtml} was not written`);
const raw = readFileSync(logHtml, 'utf-8');
for (const s of SECRETS) assert.ok(!raw.includes(s), `the page source contains the secret ${s}`);

const { page, consoleErrors, close } = await launch();
let failed = false;
try {
  // 2. The page is self-contained: nothing but the file itself is requested.
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(logHtml).href;
  await page.goto(url, { waitUntil: 'load' });
  assert.deepEqual(requests.filter((u) => u !== url), [], 'requests other than the page');

  // 3. The run header.
  assert.match(await page.title(), /tasks\.py/);
  assert.equal((await page.textContent('#run-status')).trim(), 'ERROR');
  assert.match(await page.textContent('header .summary'), /2 tasks: 1 passed, 1 failed/);
  assert.match(await page.textContent('#run-duration'), /^\d+(\.\d+)? (ms|s)$/);
  step('header: run status, duration and task counts');

  // 4. The tasks with status and duration, in the order they ran.
  const tasks = page.locator('section.task');
  assert.equal(await tasks.count(), 2);
  const orders = page.locator('section.task[data-task="process_orders"]');
  const login = page.locator('section.task[data-task="check_login"]');
  assert.equal((await orders.locator('h2 .badge').innerText()).trim(), 'PASS');
  assert.equal((await login.locator('h2 .badge').innerText()).trim(), 'FAIL');
  assert.match(await orders.locator('h2').innerText(), /process_orders\s+\d+(\.\d+)? (ms|s)/);
  assert.ok(await orders.isVisible() && await login.isVisible());
  step('tasks: process_orders PASS, check_login FAIL, with durations');

  // 5. Messages with level and time.
  const msg = orders.locator('table.events tr.msg').filter({ hasText: 'Processing the order queue' });
  assert.equal(await msg.count(), 1);
  assert.equal((await msg.locator('td.level').innerText()).trim(), 'INFO');
  assert.match(await msg.locator('td.time').innerText(), /^\d\d:\d\d:\d\d\.\d{3}$/);
  const crit = login.locator('tr.msg').filter({ hasText: 'Login service is down' });
  assert.equal((await crit.locator('td.level').innerText()).trim(), 'ERROR');
  step('messages: level and time shown');

  // 6. The failure: message and traceback, the secret redacted.
  assert.equal((await login.locator('.message').innerText()).trim(),
    'login refused for token <redacted>');
  const tb = login.locator('pre.traceback');
  assert.ok(await tb.isVisible(), 'the traceback is shown');
  const tbText = await tb.innerText();
  assert.match(tbText, /Traceback \(most recent call last\):/);
  assert.match(tbText, /tasks\.py", line \d+, in check_login/);
  assert.match(tbText, /ConnectionError: login refused for token <redacted>/);
  assert.match(await login.innerText(), /Connecting with password <redacted>/);
  step('failure: message and traceback, with <redacted> in place of the token');

  // 7. A row per work item; the failing one with its error and its own traceback.
  const rows = orders.locator('table.items tr.item');
  assert.equal(await rows.count(), 3);
  const states = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.state));
  assert.deepEqual(states, ['COMPLETED', 'FAILED', 'COMPLETED']);
  const bad = rows.nth(1);
  assert.match(await bad.innerText(), /FAILED/);
  assert.match(await bad.innerText(), /BUSINESS BAD_QTY: Order B-2: quantity must be positive/);
  assert.match(await bad.innerText(), /"password": "<redacted>"/);
  assert.match(await orders.locator('.items-title').innerText(),
    /3 reserved, 2 done, 1 failed/);
  const itemDetail = orders.locator('tr.item-detail').filter({ hasText: 'Order B-2 has no quantity' });
  assert.equal(await itemDetail.count(), 1);
  assert.match(await itemDetail.locator('pre.traceback').innerText(), /BusinessException/);
  step('work items: 3 rows, B-2 FAILED with its message and traceback');

  // 8. No secret anywhere a person can read; the level filter works.
  const visible = await page.locator('body').innerText();
  for (const s of SECRETS) assert.ok(!visible.includes(s), `the page shows the secret ${s}`);
  assert.ok(visible.includes('<redacted>'));
  await page.uncheck('.controls input[data-level="INFO"]');
  assert.equal(await msg.isVisible(), false, 'INFO rows hidden by the filter');
  assert.equal(await crit.isVisible(), true, 'ERROR rows stay');
  await page.check('.controls input[data-level="INFO"]');
  assert.equal(await msg.isVisible(), true);
  step('no secret in the page; level filter hides and shows INFO rows');

  await page.screenshot({ path: path.join(OUT, 'log_html.png'), fullPage: true });
  step(`screenshot: ${path.join(OUT, 'log_html.png')}`);
  assert.deepEqual(consoleErrors, [], 'no errors in the browser console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await close();
  if (process.env.E2E_KEEP) step(`kept ${work}`); else rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
