// A browser's own EventSource (headless Chromium, driven by playwright-core) on chatd's
// attach stream, through a TCP proxy that closes the stream's connection right after
// its first event with an id: the EventSource must reconnect by itself with
// Last-Event-ID and show the whole reply once. Run by chatd/tests/api/web.rs, which
// started chatd (echo provider, slowed down) and made CONVERSATION; this script sends
// MESSAGE as a detached chat once the browser is up, so the reply cannot be over
// before the EventSource opens however long Chromium takes to start.
//
// Environment: CHATD_URL (http://127.0.0.1:PORT), CONVERSATION, MESSAGE, CHROMIUM.
// Every wait is bounded.

import { chromium } from 'playwright-core';
import net from 'node:net';
import assert from 'node:assert/strict';

const chatd = new URL(process.env.CHATD_URL);
const conversation = process.env.CONVERSATION;
const expected = process.env.MESSAGE;

// The proxy: bytes pass through unchanged except the Host (and Origin) naming the
// proxy, which become chatd's, since chatd's guard accepts only its own address. The
// first connection whose answer carries an event id is closed after that answer's
// first chunk; every request line is recorded with its Last-Event-ID.
const requests = [];
let cut = false;
const proxy = net.createServer((client) => {
  const server = net.connect(Number(chatd.port), chatd.hostname);
  client.on('data', (chunk) => {
    const text = chunk.toString('latin1');
    const line = text.split('\r\n', 1)[0];
    if (/^[A-Z]+ \//.test(line)) {
      const lastEventId = /\r\nlast-event-id: *([^\r]*)/i.exec(text)?.[1] ?? null;
      requests.push({ line, lastEventId });
    }
    server.write(Buffer.from(text.replaceAll(`127.0.0.1:${proxy.address().port}`, chatd.host), 'latin1'));
  });
  server.on('data', (chunk) => {
    client.write(chunk);
    if (!cut && chunk.toString('utf8').includes('\nid: ')) {
      cut = true;
      // A FIN after the chunk, not a reset: a reset can discard the chunk before the
      // browser reads it, and the EventSource then reconnects without the id it never
      // saw (after the reply has ended, a 404 that closes it for good).
      server.removeAllListeners('close');
      server.destroy();
      client.end();
    }
  });
  const close = () => { client.destroy(); server.destroy(); };
  client.on('error', close);
  server.on('error', close);
  client.on('close', close);
  server.on('close', close);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${proxy.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  headless: true,
});
try {
  const page = await browser.newPage();
  // Any document of the proxy's origin will do: the stream is same-origin from it.
  await page.goto(`${origin}/api/v1/status`);
  // `wait` holds the EventSource's first request until the reply starts, whichever
  // of it and the chat below reaches chatd first.
  const watching = page.evaluate(({ conversation }) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the reply did not end within 30 s')), 30_000);
    const source = new EventSource(`/api/v1/conversations/${conversation}/reply?events=true&wait=20`);
    const seen = { text: [], ids: [], errors: 0, end: null };
    source.onmessage = (event) => { seen.text.push(event.data); seen.ids.push(event.lastEventId); };
    source.onerror = () => { seen.errors += 1; };
    source.addEventListener('end', (event) => {
      clearTimeout(timer);
      seen.end = JSON.parse(event.data);
      source.close();
      resolve(seen);
    });
  }), { conversation });
  // Its failure is reported where it is awaited, after the chat has been sent.
  watching.catch(() => {});
  const started = await fetch(new URL('/api/v1/chat?detach=true', chatd), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ conversation_id: Number(conversation), message: expected }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(started.status, 202, `the detached chat: ${await started.text()}`);
  const seen = await watching;

  assert.ok(cut, 'the proxy cut the stream');
  assert.ok(seen.errors >= 1, 'the EventSource saw its connection drop');
  const resumed = requests.filter((r) => r.line.includes('/reply') && r.lastEventId);
  assert.ok(resumed.length >= 1, `it reconnected with Last-Event-ID: ${JSON.stringify(requests)}`);
  assert.equal(seen.text.join(''), expected, 'the whole reply, once');
  assert.equal(new Set(seen.ids).size, seen.ids.length, 'no event twice');
  assert.equal(seen.end.status, 'complete');
  assert.equal(seen.end.message.content, expected);
  console.log(`resumed after ${resumed[0].lastEventId}; ${seen.text.length} events, ${seen.errors} drop(s)`);
} finally {
  await browser.close();
  proxy.close();
}
