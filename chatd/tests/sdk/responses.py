"""chatd's /v1/responses driven by the official `openai` Python SDK: a chain of
responses linked by previous_response_id, streamed and not, retrieved, and the
refusals. Run by chatd/tests/api/front_door.rs; prints the conversation as JSON."""

import json
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=20)
MODEL = "fake-model"

first = client.responses.create(model=MODEL, input="first question", instructions="Be brief.")
assert first.status == "completed", first
assert first.output_text == "The answer", first.output_text
assert first.usage.input_tokens == 21 and first.usage.output_tokens == 9, first.usage
conversation = first.metadata["chatd_conversation_id"]

second = client.responses.create(
    model=MODEL,
    input=[{"role": "user", "content": "second question"}],
    previous_response_id=first.id,
)
assert second.output_text == "The answer"
assert second.metadata["chatd_conversation_id"] == conversation

events = list(
    client.responses.create(
        model=MODEL, input="third, streamed", previous_response_id=second.id, stream=True
    )
)
kinds = [event.type for event in events]
assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
numbers = [event.sequence_number for event in events]
assert numbers[:4] == [0, 1, 2, 3] and numbers == sorted(set(numbers)), numbers
text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
assert text == "The answer", text
# chatd's cursor: a delta is numbered 3 plus the characters sent up to its end.
sent = 0
for event in events:
    if event.type == "response.output_text.delta":
        sent += len(event.delta)
        assert event.sequence_number == 3 + sent, (event.sequence_number, sent)
third = events[-1].response
assert third.output_text == "The answer"

again = client.responses.retrieve(third.id)
assert again.status == "completed" and again.output_text == "The answer", again

try:
    client.responses.create(model=MODEL, input="x", previous_response_id="resp_999999")
    raise AssertionError("an unknown previous response was accepted")
except openai.BadRequestError as error:
    assert error.body["param"] == "previous_response_id", error.body
try:
    client.responses.create(model=MODEL, input="x", previous_response_id=first.id)
    raise AssertionError("a response that is not the latest was continued")
except openai.ConflictError as error:
    assert "continued by another request" in error.message, error.message
try:
    client.responses.create(
        model=MODEL, input="x", tools=[{"type": "web_search_preview"}]
    )
    raise AssertionError("tools were accepted")
except openai.BadRequestError as error:
    assert error.body["param"] == "tools", error.body
try:
    client.responses.retrieve("resp_999999")
    raise AssertionError("an unknown response was found")
except openai.NotFoundError:
    pass

print(json.dumps({"conversation": int(conversation)}))
