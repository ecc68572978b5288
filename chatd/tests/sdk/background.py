"""chatd's background responses driven by the official `openai` Python SDK: a response
asked for in the background, its stream read in part and resumed with starting_after
(while it runs, and again from the stored message once it has ended), retrieved,
cancelled and deleted. Run by chatd/tests/api/front_door.rs against a fake upstream
that streams slowly; prints what the Rust test checks as one JSON line."""

import json
import sys
import time

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=20)
MODEL = "fake-model"


def read(stream, stop_after=None):
    """The text and the sequence numbers of a stream's events, and its last event."""
    text, numbers, last, deltas = "", [], None, 0
    for event in stream:
        numbers.append(event.sequence_number)
        last = event
        if event.type == "response.output_text.delta":
            text += event.delta
            deltas += 1
            if stop_after is not None and deltas >= stop_after:
                stream.close()
                break
    return text, numbers, last


first = client.responses.create(model=MODEL, input="go slowly", background=True)
assert first.status in ("queued", "in_progress"), first.status
assert first.background is True, first

# Read the start of its stream, then resume after the last event seen.
begun, numbers, _ = read(client.responses.retrieve(first.id, stream=True), stop_after=3)
assert begun and numbers == sorted(set(numbers)), numbers
cursor = numbers[-1]
rest, later, last = read(client.responses.retrieve(first.id, stream=True, starting_after=cursor))
assert later and min(later) > cursor, (cursor, later)
assert last.type == "response.completed", last.type
whole = last.response.output_text
assert begun + rest == whole, (begun, rest, whole)

done = client.responses.retrieve(first.id)
assert done.status == "completed" and done.output_text == whole, done

# Once stored, the same cursor lands on the same character.
again, _, last = read(client.responses.retrieve(first.id, stream=True, starting_after=cursor))
assert again == rest, (again, rest)
assert last.type == "response.completed"

# A second response continues the first in the background, and is cancelled.
second = client.responses.create(
    model=MODEL, input="and again", background=True, previous_response_id=first.id
)
assert second.metadata["chatd_conversation_id"] == first.metadata["chatd_conversation_id"]
for _ in range(200):
    if client.responses.retrieve(second.id).output_text:
        break
    time.sleep(0.05)
cancelled = client.responses.cancel(second.id)
assert cancelled.status == "cancelled", cancelled.status
assert cancelled.output_text and whole.startswith(cancelled.output_text), cancelled.output_text
assert client.responses.retrieve(second.id).status == "cancelled"

# Only the latest response can be deleted; a deleted one is gone.
try:
    client.responses.delete(first.id)
    raise AssertionError("a response with a later one was deleted")
except openai.ConflictError as error:
    assert "only the latest response" in error.message, error.message
client.responses.delete(second.id)
try:
    client.responses.retrieve(second.id)
    raise AssertionError("a deleted response was found")
except openai.NotFoundError as error:
    assert "No response with id" in error.message, error.message

try:
    client.responses.create(model=MODEL, input="x", store=False)
    raise AssertionError("store=False was accepted")
except openai.BadRequestError as error:
    assert error.body["param"] == "store", error.body

print(json.dumps({
    "conversation": int(first.metadata["chatd_conversation_id"]),
    "whole": whole,
}))
