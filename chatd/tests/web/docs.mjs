// The API page at /docs in a real browser: Playwright (playwright-core) drives Debian's
// chromium against a chatd that chatd/tests/api/web.rs started. Swagger UI must render
// chatd's OpenAPI document under the page's strict Content-Security-Policy, list the
// operations, and expand one; a screenshot goes to SCREENSHOTS/docs.png.
//
// Environment: CHATD_URL (http://127.0.0.1:PORT), CHROMIUM, SCREENSHOTS.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const BASE = process.env.CHATD_URL;
const SHOTS = process.env.SCREENSHOTS;
const WAIT = 20_000;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems = [];
  const elsewhere = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(BASE) && !request.url().startsWith('data:')) elsewhere.push(request.url());
  });
  await page.goto(`${BASE}/docs`);
  await page.locator('.opblock').first().waitFor({ timeout: WAIT });
  const count = await page.locator('.opblock').count();
  assert.ok(count >= 27, `only ${count} operations listed`);
  const paths = await page.locator('.opblock-summary-path').allInnerTexts();
  for (const expected of ['/api/v1/chat', '/api/v1/users/', '/api/v1/openapi.json', '/v1/chat/completions']) {
    assert.ok(paths.some((path) => path.replace(/\u200b/g, '') === expected), `${expected} is not listed: ${paths.join(', ')}`);
  }
  // Expanding POST /api/v1/chat shows its responses, the stream among them.
  await page.locator('#operations-chat-chat .opblock-summary').click();
  await page.locator('#operations-chat-chat .responses-table').waitFor({ timeout: WAIT });
  const responses = await page.locator('#operations-chat-chat .responses-table').innerText();
  for (const status of ['200', '404', '409', '422', '502']) {
    assert.ok(responses.includes(status), `POST /chat does not show ${status}`);
  }
  await page.screenshot({ path: `${SHOTS}/docs.png`, fullPage: false });
  assert.deepEqual(problems, [], 'the page ran without errors (CSP included)');
  assert.deepEqual(elsewhere, [], 'the page loaded nothing from elsewhere');
  console.log(`docs: ${count} operations listed`);
} finally {
  await browser.close();
}
