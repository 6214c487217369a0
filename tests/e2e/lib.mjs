// Helpers the dashboard specs share: the browser, polling waits and the jobs table watcher.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const step = (msg) => console.log(`[e2e] ${msg}`);

export async function waitFor(fn, what, timeoutMs = 30000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Records, in the page, every state each job's row shows (consecutive repeats folded),
// whatever the poll interval: a MutationObserver on the jobs table, installed before submit.
export function watchRows(page) {
  return page.evaluate(() => {
    window.__seen = {};
    const look = () => {
      for (const tr of document.querySelectorAll('#jobs tr[data-job-id]')) {
        const seen = (window.__seen[tr.dataset.jobId] ||= []);
        if (seen[seen.length - 1] !== tr.dataset.state) seen.push(tr.dataset.state);
      }
    };
    look();
    new MutationObserver(look).observe(document.querySelector('#jobs tbody'),
      { childList: true, subtree: true, attributes: true });
  });
}
export const seenStates = (page, id) => page.evaluate((i) => (window.__seen || {})[i] || [], id);
export const rowState = (page, id) =>
  page.evaluate((i) => document.querySelector(`#jobs tr[data-job-id="${i}"]`)?.dataset.state, id);

// Debian's chromium, headless, in a fresh profile (so an empty localStorage); close() removes it.
export async function launch() {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'robotni-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, consoleErrors, close };
}
