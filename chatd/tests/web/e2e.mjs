// End-to-end test of chatd's web page: Playwright (playwright-core) drives Debian's
// chromium against a real chatd that chatd/tests/api/web.rs started, with the echo
// provider (40 ms a token) as its default and two providers on fake OpenAI-compatible
// upstreams: `broken` (HTTP 503 before any token) and `flaky` (an error mid-stream).
//
// Environment: CHATD_URL (http://127.0.0.1:PORT), CHROMIUM (the browser),
// SCREENSHOTS (a folder). The daemon restart is asked of the Rust side over stdio:
// this script prints "control: kill" and waits for "killed" on stdin, then
// "control: start" and waits for "started". Every wait is bounded.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';

const BASE = process.env.CHATD_URL;
const API = `${BASE}/api/v1`;
const SHOTS = process.env.SCREENSHOTS;
const WAIT = 15_000;
mkdirSync(SHOTS, { recursive: true });

const stdinLines = createInterface({ input: process.stdin });
const waiting = [];
stdinLines.on('line', (line) => waiting.shift()?.(line.trim()));
function control(command) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to "${command}"`)), 30_000);
    waiting.push((line) => { clearTimeout(timer); resolve(line); });
    console.log(`control: ${command}`);
  });
}

async function api(path, init = {}) {
  const response = await fetch(API + path, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function step(name) {
  console.log(`step: ${name}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  headless: true,
});

/** A page that records everything that would show script ran where it must not. */
async function watchedPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|net::/.test(message.text())) {
      page.problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('dialog', async (dialog) => {
    if (dialog.type() === 'confirm') await dialog.accept();
    else {
      page.problems.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
      await dialog.dismiss();
    }
  });
  return page;
}

async function login(page, url, name) {
  await page.goto(url);
  await page.locator('#login').waitFor({ state: 'visible', timeout: WAIT });
  // Keyboard only: the name field has the focus, Enter submits.
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT });
  assert.equal(await page.locator('#who').textContent(), name);
}

/** Types a message into the composer and sends it with Enter. */
async function send(page, text) {
  page.assistantsBefore = await page.locator('.msg.assistant').count();
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

const lastAssistant = (page) => page.locator('.msg.assistant').last();

/** Waits for the reply to the message sent last to have ended. */
async function replyDone(page) {
  await page.waitForFunction((before) => {
    const replies = document.querySelectorAll('.msg.assistant');
    return replies.length > before && !document.querySelector('.msg.assistant.streaming')
      && document.getElementById('stop').hidden;
  }, page.assistantsBefore, { timeout: WAIT });
}

function currentId(page) {
  return Number(new URL(page.url()).hash.replace('#c=', ''));
}

const words = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`).join(' ');

const light = await browser.newContext({ viewport: { width: 1200, height: 800 }, colorScheme: 'light' });
await light.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
const page = await watchedPage(light);
const user = 'Ада 🌟';

step('create a user');
await login(page, `${BASE}/`, user);
const created = await api(`/users/${encodeURIComponent(user)}`);
assert.equal(created.status, 200, 'the page created the user');
const userId = created.body.id;

step('the page reads event streams as the standard says');
const parsed = await page.evaluate(async () => {
  const { events } = await import('./assets/sse.js');
  const utf8 = new TextEncoder();
  const e9 = utf8.encode('data: h\u00e9llo\n\n');
  const pieces = [
    utf8.encode('event: start\r'), utf8.encode('\ndata: {"a":1}\r\n\r\n'),
    utf8.encode('data: one\n'), utf8.encode('data:  two\n\n: a comment\n\n'),
    utf8.encode('data:\ndata: x\n\n'), e9.slice(0, 8), e9.slice(8),
    utf8.encode('data: cut off at the end'),
  ];
  const body = new ReadableStream({ start(c) { for (const p of pieces) c.enqueue(p); c.close(); } });
  const out = [];
  for await (const event of events(new Response(body))) out.push(event);
  return out;
});
assert.deepEqual(parsed, [
  { event: 'start', data: '{"a":1}' },
  { event: 'message', data: 'one\n two' },
  { event: 'message', data: '\nx' },
  { event: 'message', data: 'h\u00e9llo' },
]);

step('chat: a multi-line Unicode reply with a code block, streamed');
const rich = [
  '# Grüße 👋',
  '',
  'Zeile zwei: 中文, العربية, emoji 🎉 and *emphasis*.',
  '',
  '```rust',
  'fn main() {',
  '    println!("héllo, 世界");',
  '}',
  '```',
  '',
  '- one',
  '- two',
].join('\n');
await send(page, rich);
await page.locator('.msg.assistant.streaming').waitFor({ timeout: WAIT });
await replyDone(page);
const reply = lastAssistant(page);
assert.equal(await reply.locator('h1').textContent(), 'Grüße 👋');
assert.match(await reply.locator('.body').innerText(), /中文, العربية, emoji 🎉/);
assert.equal(await reply.locator('.code .code-head span').textContent(), 'rust');
assert.ok(await reply.locator('pre code .hljs-keyword').count() > 0, 'the code is highlighted');
assert.equal(await reply.locator('li').count(), 2);
assert.equal(await reply.locator('.status').count(), 0, 'a complete reply has no status badge');
const chatId = currentId(page);
const stored = await api(`/conversations/${chatId}/messages`);
assert.equal(stored.body.at(-1).content, rich, 'the stored reply is the echoed message');
assert.equal(stored.body.at(-1).status, 'complete');
await reply.locator('button.copy').click();
await page.locator('button.copy', { hasText: 'Copied' }).waitFor({ timeout: WAIT });
const copied = await page.evaluate(() => navigator.clipboard.readText());
assert.equal(copied, 'fn main() {\n    println!("héllo, 世界");\n}\n');
await page.screenshot({ path: `${SHOTS}/light-chat.png` });

step('stop a reply');
await page.locator('#new-chat').click();
await send(page, words(80, 'w'));
await page.locator('.msg.assistant.streaming .body', { hasText: 'w3' }).waitFor({ timeout: WAIT });
await page.keyboard.press('Escape');
await lastAssistant(page).locator('.status.cancelled').waitFor({ timeout: WAIT });
const stoppedId = currentId(page);
const stopped = (await api(`/conversations/${stoppedId}/messages`)).body.at(-1);
assert.equal(stopped.status, 'cancelled');
assert.ok(stopped.content.length < words(80, 'w').length, 'the reply was cut short');

step('a reply in flight is attached again after a reload');
await page.locator('#new-chat').click();
const long = words(100, 'a');
await send(page, long);
await page.locator('.msg.assistant.streaming .body', { hasText: 'a5' }).waitFor({ timeout: WAIT });
const attachedId = currentId(page);
await page.reload();
await page.locator('.msg.assistant.streaming').waitFor({ timeout: WAIT });
await page.locator('#stop').waitFor({ state: 'visible', timeout: WAIT });
page.assistantsBefore = 0;
await replyDone(page);
assert.equal((await lastAssistant(page).locator('.body').textContent()).trim(), long);
assert.equal((await api(`/conversations/${attachedId}/messages`)).body.at(-1).status, 'complete');

step('rename with the keyboard');
const firstItem = page.locator(`#conversations li[data-id="${chatId}"]`);
await firstItem.locator('.rename').focus();
await page.keyboard.press('Enter');
await page.keyboard.press('Control+A');
await page.keyboard.type('Renamed — 名前');
await page.keyboard.press('Enter');
await firstItem.locator('.name', { hasText: 'Renamed — 名前' }).waitFor({ timeout: WAIT });
assert.equal((await api(`/conversations/${chatId}/settings`)).body.name, 'Renamed — 名前');
const order = await page.locator('#conversations li').evaluateAll((items) => items.map((li) => Number(li.dataset.id)));
assert.deepEqual(order, [...order].sort((a, b) => b - a), 'newest first');

step('search: titles, and message text through chatd\'s search');
await page.keyboard.press('Control+K');
await page.keyboard.type('名前');
await page.waitForFunction(() => document.querySelectorAll('#conversations li').length === 1, null, { timeout: WAIT });
assert.equal(await page.locator('#conversations li .name').textContent(), 'Renamed — 名前');
await page.locator('#search').fill('');
await page.keyboard.type('Zeile zwei');
await page.waitForFunction(
  (id) => [...document.querySelectorAll('#conversations li')].some((li) => Number(li.dataset.id) === id)
    && document.querySelectorAll('#conversations li').length < 3,
  chatId,
  { timeout: WAIT },
);
await page.locator('#search').press('Escape');
await page.waitForFunction(() => document.querySelectorAll('#conversations li').length === 3, null, { timeout: WAIT });

step('the list with the keyboard: arrows move, Enter opens');
await page.keyboard.press('Control+K');
await page.keyboard.press('ArrowDown');
await page.keyboard.press('ArrowDown');
assert.equal(await page.evaluate(() => Number(document.activeElement.closest('li')?.dataset.id)), stoppedId);
await page.keyboard.press('Enter');
await page.waitForFunction((id) => location.hash === `#c=${id}`, stoppedId, { timeout: WAIT });

step('delete');
await lastAssistant(page).locator('.status.cancelled').waitFor({ timeout: WAIT });
await page.locator(`#conversations li[data-id="${stoppedId}"] .delete`).click();
await page.locator(`#conversations li[data-id="${stoppedId}"]`).waitFor({ state: 'detached', timeout: WAIT });
assert.equal((await api(`/conversations/${stoppedId}`)).status, 404);
assert.equal(await page.locator('#title').textContent(), 'New chat', 'the deleted chat is no longer shown');

step('hostile model output never runs');
const hostile = [
  '<script>window.__xss = 1; alert(1)</script>',
  '<img src=x onerror="window.__xss = 2; alert(2)">',
  '[click me](javascript:window.__xss=3)',
  '<a href="javascript:window.__xss=4">raw link</a>',
  '<b onmouseover="window.__xss=5">bold</b> <iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
  '<svg onload="window.__xss=7"></svg> ![pic](x" onerror="window.__xss=8)',
  '[data](data:text/html,<script>alert(9)</script>) <style>body{display:none}</style>',
].join('\n\n');
await send(page, hostile);
await replyDone(page);
const evil = lastAssistant(page);
assert.match(await evil.locator('.body').innerText(), /<script>window.__xss = 1; alert\(1\)<\/script>/, 'raw HTML shows as text');
const inside = await page.locator('#messages').evaluate((root) => ({
  tags: [...root.querySelectorAll('script, img, iframe, svg, style, object, embed')].map((e) => e.tagName),
  handlers: [...root.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
  hrefs: [...root.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
}));
assert.deepEqual(inside.tags, [], 'no live element');
assert.deepEqual(inside.handlers, [], 'no event handler attribute');
for (const href of inside.hrefs) assert.doesNotMatch(href, /^\s*(javascript|data|vbscript):/i, href);
for (const link of await evil.locator('a').all()) await link.click({ timeout: 2000 });
await page.waitForTimeout(300);
for (const opened of light.pages()) if (opened !== page) await opened.close();
assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
assert.ok(await page.evaluate(() => getComputedStyle(document.body).display !== 'none'));
await page.screenshot({ path: `${SHOTS}/light-hostile-output.png` });

step('provider failures in words');
await page.locator('#new-chat').click();
await page.locator('#model').selectOption('broken/m');
await send(page, 'hello there');
const failedNote = page.locator('.msg.user .note.error').last();
await failedNote.waitFor({ timeout: WAIT });
assert.match(await failedNote.textContent(), /^The model provider failed: .*503/);
await page.locator('#model').selectOption('flaky/m');
await page.waitForFunction(async (api) => {
  const id = Number(location.hash.replace('#c=', ''));
  const settings = await (await fetch(`${api}/conversations/${id}/settings`)).json();
  return settings.model === 'flaky/m';
}, API, { timeout: WAIT });
await send(page, 'again');
await lastAssistant(page).locator('.status.failed').waitFor({ timeout: WAIT });
assert.match(await lastAssistant(page).locator('.status.failed').textContent(), /upstream model crashed/);
assert.match(await lastAssistant(page).locator('.body').textContent(), /Partial answer/);
await page.locator('#model').selectOption('short/m');
await page.waitForFunction(async (api) => {
  const id = Number(location.hash.replace('#c=', ''));
  return (await (await fetch(`${api}/conversations/${id}/settings`)).json()).model === 'short/m';
}, API, { timeout: WAIT });
await send(page, 'a long story');
await lastAssistant(page).locator('.status.truncated').waitFor({ timeout: WAIT });
await page.screenshot({ path: `${SHOTS}/light-provider-errors.png` });

step('a reasoning model: its reasoning folded above the reply');
await page.locator('#new-chat').click();
await page.locator('#model').selectOption('thinker/r1');
await send(page, 'why?');
await replyDone(page);
const thought = lastAssistant(page);
assert.equal((await thought.locator('.body').textContent()).trim(), 'The answer');
assert.equal(await thought.locator('details.reasoning .reasoning-text').textContent(), 'Let me think.');
assert.match(await thought.locator('.who-line').textContent(), /thinker\/r1/);
await page.reload();
await lastAssistant(page).locator('details.reasoning').waitFor({ timeout: WAIT });

step('the daemon restarts mid-reply');
await page.locator('#new-chat').click();
await send(page, words(150, 'r'));
await page.locator('.msg.assistant.streaming .body', { hasText: 'r60' }).waitFor({ timeout: WAIT });
const restartId = currentId(page);
assert.equal(await control('kill'), 'killed');
await page.locator('#banner-text', { hasText: 'not answering' }).waitFor({ timeout: WAIT });
assert.match(await page.locator('#banner-text').textContent(), /is the daemon running\?/);
await page.screenshot({ path: `${SHOTS}/light-daemon-down.png` });
assert.equal(await control('start'), 'started');
await page.locator('#banner').waitFor({ state: 'hidden', timeout: WAIT });
await lastAssistant(page).locator('.status.interrupted').waitFor({ timeout: WAIT });
const interrupted = (await api(`/conversations/${restartId}/messages`)).body.at(-1);
assert.equal(interrupted.status, 'interrupted');
assert.match(await lastAssistant(page).locator('.body').textContent(), /^r1 r2 r3/);
await send(page, 'after the restart');
await replyDone(page);
assert.equal((await lastAssistant(page).locator('.body').textContent()).trim(), 'after the restart');
assert.deepEqual(page.problems, []);

step('another origin in the CORS allow-list');
const other = await watchedPage(light);
const crossUrl = `${BASE.replace('127.0.0.1', 'localhost')}/?api=${encodeURIComponent(API)}`;
await login(other, crossUrl, user);
await other.locator('#conversations .name', { hasText: 'Renamed — 名前' }).waitFor({ timeout: WAIT });
await send(other, 'from another origin');
await replyDone(other);
assert.equal((await lastAssistant(other).locator('.body').textContent()).trim(), 'from another origin');
assert.deepEqual(other.problems, []);
await other.close();

step('dark theme');
const dark = await browser.newContext({ viewport: { width: 1200, height: 800 }, colorScheme: 'dark' });
const darkPage = await watchedPage(dark);
await login(darkPage, `${BASE}/#c=${chatId}`, user);
await darkPage.locator('.msg.assistant h1').waitFor({ timeout: WAIT });
const background = await darkPage.evaluate(() => getComputedStyle(document.body).backgroundColor);
assert.equal(background, 'rgb(22, 24, 28)', 'the dark palette follows the system');
await darkPage.screenshot({ path: `${SHOTS}/dark-chat.png` });
assert.deepEqual(darkPage.problems, []);
await dark.close();

step('a phone-sized window');
const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light', hasTouch: true });
const phone = await watchedPage(narrow);
await login(phone, `${BASE}/#c=${chatId}`, user);
await phone.locator('.msg.assistant h1').waitFor({ timeout: WAIT });
const width = await phone.evaluate(() => document.documentElement.scrollWidth);
assert.ok(width <= 390, `no sideways scrolling (${width}px)`);
assert.ok(await phone.locator('#sidebar').isHidden(), 'the list is out of the way');
await phone.screenshot({ path: `${SHOTS}/narrow-chat.png` });
await phone.locator('#toggle-sidebar').click();
await phone.locator('#sidebar').waitFor({ state: 'visible', timeout: WAIT });
await phone.waitForTimeout(250);
await phone.screenshot({ path: `${SHOTS}/narrow-conversations.png` });
assert.deepEqual(phone.problems, []);
await narrow.close();

assert.deepEqual(page.problems, []);
await light.close();
await browser.close();
stdinLines.close();
console.log(`step: done, user ${userId}`);
