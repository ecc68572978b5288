// chatd's Responses API driven by the official `openai` npm package: a chain made with
// previous_response_id, a response in the background whose stream is read in part and
// resumed with starting_after, retrieved, and one cancelled. Run by
// chatd/tests/api/front_door.rs; prints what the Rust test checks as one JSON line.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused", maxRetries: 0 });
const MODEL = "fake-model";

async function read(stream, stopAfter) {
  let text = "";
  const numbers = [];
  let last = null;
  let deltas = 0;
  for await (const event of stream) {
    numbers.push(event.sequence_number);
    last = event;
    if (event.type === "response.output_text.delta") {
      text += event.delta;
      deltas += 1;
      if (stopAfter !== undefined && deltas >= stopAfter) {
        stream.controller.abort();
        break;
      }
    }
  }
  return { text, numbers, last };
}

const first = await client.responses.create({ model: MODEL, input: "first, at once" });
assert.equal(first.status, "completed");
const conversation = first.metadata.chatd_conversation_id;

const second = await client.responses.create({
  model: MODEL, input: "second, in the background", background: true,
  previous_response_id: first.id,
});
assert.ok(["queued", "in_progress"].includes(second.status), second.status);
assert.equal(second.metadata.chatd_conversation_id, conversation);

const begun = await read(await client.responses.retrieve(second.id, { stream: true }), 3);
const cursor = begun.numbers.at(-1);
const rest = await read(
  await client.responses.retrieve(second.id, { stream: true, starting_after: cursor }),
);
assert.ok(Math.min(...rest.numbers) > cursor);
assert.equal(rest.last.type, "response.completed");
// Raw stream events carry the response without the SDK's `output_text` helper.
const whole = rest.last.response.output[0].content[0].text;
assert.equal(begun.text + rest.text, whole);
const done = await client.responses.retrieve(second.id);
assert.equal(done.status, "completed");
assert.equal(done.output_text, whole);

const third = await client.responses.create({
  model: MODEL, input: "third, cancelled", background: true, previous_response_id: second.id,
});
for (let i = 0; i < 200; i += 1) {
  if ((await client.responses.retrieve(third.id)).output_text) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const cancelled = await client.responses.cancel(third.id);
assert.equal(cancelled.status, "cancelled");
const kept = cancelled.output[0].content[0].text;
assert.ok(kept && whole.startsWith(kept), kept);
assert.equal((await client.responses.retrieve(third.id)).status, "cancelled");

await assert.rejects(
  client.responses.create({ model: MODEL, input: "x", previous_response_id: "resp_999999" }),
  (error) => error instanceof OpenAI.BadRequestError && error.param === "previous_response_id",
);

console.log(JSON.stringify({ conversation: Number(conversation), whole }));
