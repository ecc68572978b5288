"""chatd's front door driven by the official `openai` Python SDK (pinned in .ci/run).

Run by chatd/tests/api/front_door.rs as `python story.py BASE_URL`, against a chatd
whose provider is the tests' fake upstream. Asserts what the SDK sees and prints, as
one JSON line, the conversation ids each part landed in, which the Rust test then
reads back through /api/v1.
"""

import json
import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=20)
MODEL = "fake-model"
REPLY = "The answer"


def conversation_of(raw):
    return int(raw.headers["x-chatd-conversation"])


def turn(history, text, **extra):
    """One turn of a client that resends its whole history, as OpenAI clients do."""
    history = history + [{"role": "user", "content": text}]
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=history, **extra
    )
    completion = raw.parse()
    content = completion.choices[0].message.content
    assert content == REPLY, content
    assert completion.object == "chat.completion"
    return history + [{"role": "assistant", "content": content}], conversation_of(raw)


out = {}

# Not streamed: one chat.completion, with usage.
history, first = turn([{"role": "system", "content": "Be brief."}], "first question")
completion = client.chat.completions.create(
    model=MODEL, messages=[{"role": "user", "content": "a lone question"}]
)
assert completion.usage.prompt_tokens == 21 and completion.usage.completion_tokens == 9

# Three turns of one conversation: the second and third are found by their history.
history, second = turn(history, "second question")
history, third = turn(history, "third question")
assert first == second == third, (first, second, third)
out["three_turns"] = first

# Streamed, continuing the same conversation, with usage asked for.
stream = client.chat.completions.create(
    model=MODEL,
    messages=history + [{"role": "user", "content": "fourth, streamed"}],
    stream=True,
    stream_options={"include_usage": True},
)
text, usage, finish = "", None, None
for chunk in stream:
    assert chunk.object == "chat.completion.chunk"
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
assert text == REPLY, text
assert finish == "stop", finish
assert usage is not None and usage.total_tokens == 30, usage

# The same three turns naming the conversation: only the new message is sent.
made = client.chat.completions.with_raw_response.create(
    model=MODEL, messages=[{"role": "user", "content": "named one"}]
)
named = conversation_of(made)
for text in ["named two", "named three"]:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-Chatd-Conversation": str(named)},
    )
    assert conversation_of(raw) == named
raw = client.chat.completions.with_raw_response.create(
    model=MODEL,
    messages=[{"role": "user", "content": "named four"}],
    metadata={"chatd_conversation_id": str(named)},
)
assert conversation_of(raw) == named
out["named"] = named

# Two unrelated clients taking turns are never merged.
a, conv_a = turn([], "I am client A")
b, conv_b = turn([], "I am client B")
a, again_a = turn(a, "A again")
b, again_b = turn(b, "B again")
assert conv_a != conv_b and conv_a == again_a and conv_b == again_b
out["a"], out["b"] = conv_a, conv_b

# Errors arrive as the SDK's own exception types, with chatd's message.
try:
    client.chat.completions.create(model=MODEL, messages=[])
    raise AssertionError("empty messages were accepted")
except openai.BadRequestError as error:
    assert error.status_code == 400
    assert error.body["param"] == "messages", error.body
    assert "must not be empty" in error.message, error.message
try:
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "assistant", "content": "hi"}]
    )
    raise AssertionError("a last assistant message was accepted")
except openai.BadRequestError as error:
    assert "must be from the user" in error.message, error.message
try:
    client.chat.completions.create(
        model="nosuch/model", messages=[{"role": "user", "content": "hi"}]
    )
    raise AssertionError("an unknown model was accepted")
except openai.NotFoundError as error:
    assert error.body["param"] == "model", error.body
    assert "no provider is named" in error.message, error.message
try:
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"X-Chatd-Conversation": "999999999"},
    )
    raise AssertionError("an unknown conversation was accepted")
except openai.NotFoundError as error:
    assert "Conversation not found" in error.message, error.message

models = [model.id for model in client.models.list()]
assert "openai/fake-model" in models, models

print(json.dumps(out))
