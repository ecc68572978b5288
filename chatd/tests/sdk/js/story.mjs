// chatd's front door driven by the official `openai` npm package (pinned in
// package.json). Run by chatd/tests/api/front_door.rs as `node story.mjs BASE_URL`;
// prints the conversation ids it used as one JSON line for the Rust test to check.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused", maxRetries: 0 });
const MODEL = "fake-model";
const REPLY = "The answer";

async function turn(history, text) {
  history = [...history, { role: "user", content: text }];
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: history })
    .withResponse();
  assert.equal(data.choices[0].message.content, REPLY);
  return [[...history, { role: "assistant", content: REPLY }],
    Number(response.headers.get("x-chatd-conversation"))];
}

const out = {};
let [history, first] = await turn([{ role: "system", content: "Be brief." }], "first");
let second, third;
[history, second] = await turn(history, "second");
[history, third] = await turn(history, "third");
assert.equal(first, second);
assert.equal(first, third);
out.three_turns = first;

const stream = await client.chat.completions.create({
  model: MODEL,
  messages: [...history, { role: "user", content: "fourth, streamed" }],
  stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) text += choice.delta.content ?? "";
}
assert.equal(text, REPLY);
assert.equal(usage.total_tokens, 30);

let [a, convA] = await turn([], "I am client A");
let [b, convB] = await turn([], "I am client B");
let againA, againB;
[a, againA] = await turn(a, "A again");
[b, againB] = await turn(b, "B again");
assert.notEqual(convA, convB);
assert.equal(convA, againA);
assert.equal(convB, againB);
out.a = convA;
out.b = convB;

await assert.rejects(
  client.chat.completions.create({ model: MODEL, messages: [] }),
  (error) => error instanceof OpenAI.BadRequestError && error.param === "messages"
    && error.message.includes("must not be empty"),
);
await assert.rejects(
  client.chat.completions.create({ model: "nosuch/model", messages: [{ role: "user", content: "hi" }] }),
  (error) => error instanceof OpenAI.NotFoundError && error.message.includes("no provider is named"),
);

console.log(JSON.stringify(out));
