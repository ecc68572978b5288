// chatd's AI SDK routes (/api/v1/ui/chat) driven by the real `ai` npm package: its
// Chat class (`AbstractChat`, which useChat wraps, here with a plain ChatState as the
// framework bindings give it) over `DefaultChatTransport`, the transport's own chunk
// parser (`reconnectToStream`, validated by the package's schemas) and
// `readUIMessageStream`. Run by chatd/tests/api/ui_chat.rs as
// `node usechat.mjs API_BASE SCENARIO CHAT_ID`; prints what the Rust test checks as one
// JSON line.
import assert from "node:assert/strict";
import { AbstractChat, DefaultChatTransport, readUIMessageStream } from "ai";

const [, , base, scenario, chatId] = process.argv;
const api = `${base}/ui/chat`;

/** The state a framework binding keeps (React's, Vue's), as plain fields. */
class PlainState {
  constructor(messages = []) {
    this.messages = messages;
    this.status = "ready";
    this.error = undefined;
  }
  pushMessage(message) {
    this.messages = this.messages.concat(message);
  }
  popMessage() {
    this.messages = this.messages.slice(0, -1);
  }
  replaceMessage(index, message) {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  }
  snapshot(thing) {
    return structuredClone(thing);
  }
}

class Chat extends AbstractChat {
  constructor({ messages, headers, ...options }) {
    super({
      ...options,
      id: chatId,
      state: new PlainState(messages),
      transport: new DefaultChatTransport({ api, headers }),
    });
  }
}

function text(message, type = "text") {
  return message.parts.filter((part) => part.type === type).map((part) => part.text).join("");
}

/** The chunks of a stream, as the transport parsed them. */
async function collect(stream) {
  if (stream === null) return null;
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** The chunks of the reply streaming now (`null`: nothing streams). */
async function resumedChunks(transport) {
  return collect(await transport.reconnectToStream({ chatId }));
}

async function until(condition) {
  for (let i = 0; i < 500; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("waited too long");
}

async function post(path) {
  const response = await fetch(`${api}/${encodeURIComponent(chatId)}/${path}`, { method: "POST" });
  return { status: response.status, body: await response.json() };
}

async function storedMessages(headers) {
  const response = await fetch(`${api}/${encodeURIComponent(chatId)}/messages`, { headers });
  assert.equal(response.status, 200);
  return response.json();
}

const out = {};
const finishes = [];
const onFinish = ({ message, isAbort, isError, finishReason }) =>
  finishes.push({ id: message.id, isAbort, isError, finishReason });

if (scenario === "reply") {
  // Two turns as a user named by the header, then the stored chat read back.
  const headers = { "X-Chatd-User": "ui-tester" };
  const chat = new Chat({ headers, onFinish });
  await chat.sendMessage({ text: "héllo 你好" });
  assert.equal(chat.status, "ready", String(chat.error));
  await chat.sendMessage({ text: "and again" });
  assert.equal(chat.status, "ready", String(chat.error));
  const last = chat.messages.at(-1);
  out.roles = chat.messages.map((message) => message.role);
  out.texts = chat.messages.map((message) => text(message));
  out.reasoning = text(last, "reasoning");
  out.parts = last.parts.map((part) => part.type);
  out.metadata = last.metadata;
  out.finishes = finishes;
  const stored = await storedMessages(headers);
  out.storedTexts = stored.map((message) => text(message));
  out.storedReasoning = text(stored.at(-1), "reasoning");
  out.storedIds = stored.map((message) => message.id);
  out.liveIds = chat.messages.map((message) => message.id);
  // The stored chat continues where it was: a new Chat opened with it sends on.
  const reopened = new Chat({ headers, messages: stored });
  await reopened.sendMessage({ text: "third" });
  assert.equal(reopened.status, "ready", String(reopened.error));
  out.reopenedTexts = reopened.messages.map((message) => text(message));
} else if (scenario === "resume") {
  // A page that went away mid-reply: its chat stops reading (the reply goes on in
  // chatd); a new one resumes it, and the transport's reader follows it too.
  const gone = new Chat({});
  const sent = gone.sendMessage({ text: "tell me slowly" });
  await until(() => gone.messages.length === 2 && text(gone.messages[1]).length > 0);
  await gone.stop();
  await sent;
  out.seenBeforeLeaving = text(gone.messages[1]);
  const transport = new DefaultChatTransport({ api });
  const [chunks, snapshots] = await Promise.all([
    resumedChunks(transport),
    (async () => {
      const snapshots = [];
      const stream = await transport.reconnectToStream({ chatId });
      for await (const message of readUIMessageStream({ stream })) snapshots.push(text(message));
      return snapshots;
    })(),
  ]);
  out.chunkTypes = [...new Set(chunks.map((chunk) => chunk.type))];
  out.finish = chunks.at(-1);
  out.readerText = snapshots.at(-1);
  const back = new Chat({ messages: [gone.messages[0]], onFinish });
  await back.resumeStream();
  out.resumedAfterEnd = back.messages.length;
  out.resumedStatus = back.status;
  out.nothingStreaming = await resumedChunks(transport);
} else if (scenario === "stop") {
  // The stop button: the SDK's stop ends the fetch, chatd's stop route cancels the
  // reply; a listener still reading sees `abort`. The chat then goes on.
  const chat = new Chat({ onFinish });
  const sent = chat.sendMessage({ text: "long answer please" });
  await until(() => chat.messages.length === 2 && text(chat.messages[1]).length > 0);
  const listening = await new DefaultChatTransport({ api }).reconnectToStream({ chatId });
  await chat.stop();
  await sent;
  out.stop = await post("stop");
  const heard = await collect(listening);
  out.listenerChunks = heard.map((chunk) => chunk.type);
  out.listenerText = heard
    .filter((chunk) => chunk.type === "text-delta")
    .map((chunk) => chunk.delta)
    .join("");
  out.shown = text(chat.messages[1]);
  out.stopAgain = await post("stop");
  await chat.sendMessage({ text: "next" });
  assert.equal(chat.status, "ready", String(chat.error));
  out.texts = chat.messages.map((message) => text(message));
  out.finishes = finishes;
} else if (scenario === "error") {
  // The provider fails (before its first token, or after some): the chat shows why.
  const chat = new Chat({ onFinish });
  await chat.sendMessage({ text: "fail please" });
  out.status = chat.status;
  out.error = chat.error?.message;
  out.finishes = finishes;
  out.texts = chat.messages.map((message) => text(message));
  out.metadata = chat.messages.at(-1).metadata;
} else if (scenario === "conflict") {
  // Regenerate makes a new reply beside the last one; a history that is not the stored
  // one is refused in words, for a new message as for a regenerate.
  const chat = new Chat({});
  await chat.sendMessage({ text: "first" });
  assert.equal(chat.status, "ready", String(chat.error));
  out.before = (await storedMessages()).map((message) => message.id);
  await chat.regenerate();
  assert.equal(chat.status, "ready", String(chat.error));
  out.regenerated = chat.messages.map((message) => text(message));
  out.after = (await storedMessages()).map((message) => message.id);
  const [user, reply] = chat.messages;
  const altered = { ...reply, parts: [{ type: "text", text: "not what chatd said" }] };
  const other = new Chat({ messages: [user, altered] });
  await other.sendMessage({ text: "second" });
  out.conflict = { status: other.status, error: other.error?.message };
  const stale = new Chat({ messages: [{ ...user, parts: [{ type: "text", text: "firsts" }] }] });
  await stale.regenerate();
  out.staleRegenerate = { status: stale.status, error: stale.error?.message };
  out.storedCount = (await storedMessages()).length;
} else if (scenario === "branches") {
  // An edit (`sendMessage({messageId})` replaces a user message and drops what
  // followed) and regenerates (of the last reply, and of an earlier one) make branches
  // in chatd, the old versions kept; the stored chat is the path last made.
  const chat = new Chat({});
  await chat.sendMessage({ text: "first" });
  assert.equal(chat.status, "ready", String(chat.error));
  await chat.regenerate();
  assert.equal(chat.status, "ready", String(chat.error));
  out.regeneratedIds = chat.messages.map((message) => message.id);
  await chat.sendMessage({ text: "second" });
  assert.equal(chat.status, "ready", String(chat.error));
  const second = chat.messages[2];
  await chat.sendMessage({ text: "second, edited", messageId: second.id });
  assert.equal(chat.status, "ready", String(chat.error));
  out.edited = chat.messages.map((message) => text(message));
  out.storedAfterEdit = (await storedMessages()).map((message) => text(message));
  // The first reply again: the chat goes back to one question and a new answer.
  await chat.regenerate({ messageId: chat.messages[1].id });
  assert.equal(chat.status, "ready", String(chat.error));
  out.texts = chat.messages.map((message) => text(message));
  const stored = await storedMessages();
  out.storedTexts = stored.map((message) => text(message));
  out.storedIds = stored.map((message) => message.id);
  out.liveIds = chat.messages.map((message) => message.id);
} else if (scenario === "elsewhere") {
  // A chat kept elsewhere until now comes to chatd with its history, and a model.
  const said = (id, role, words) => ({ id, role, parts: [{ type: "text", text: words }] });
  const chat = new Chat({
    messages: [said("a", "user", "earlier question"), said("b", "assistant", "earlier answer")],
  });
  // An app's own body field: the model of this chat.
  await chat.sendMessage({ text: "now this" }, { body: { model: "openai/other-model" } });
  assert.equal(chat.status, "ready", String(chat.error));
  out.model = chat.messages.at(-1).metadata.model;
  out.texts = chat.messages.map((message) => text(message));
  out.storedTexts = (await storedMessages()).map((message) => text(message));
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
console.log(JSON.stringify(out));
