"""Tool calls and images through chatd's front door, driven by the official `openai`
Python SDK: the request's tools and image parts go to the provider unchanged, the
provider's tool-call deltas come back as the SDK expects them (merged in a completion,
piece by piece in a stream), and a client that answers with the tool's result goes on
in the same chatd conversation. Run by chatd/tests/api/front_door_tools.rs against a
fake upstream that always calls get_weather; prints the conversation as JSON."""

import json
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=20)
MODEL = "fake-model"
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}]
ARGUMENTS = '{"city": "Paris"}'

question = {"role": "user", "content": [
    {"type": "text", "text": "What is the weather here?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
]}
raw = client.chat.completions.with_raw_response.create(
    model=MODEL, messages=[question], tools=TOOLS, tool_choice="auto"
)
completion = raw.parse()
conversation = int(raw.headers["x-chatd-conversation"])
choice = completion.choices[0]
assert choice.finish_reason == "tool_calls", choice.finish_reason
calls = choice.message.tool_calls
assert len(calls) == 1 and calls[0].id == "call_1", calls
assert calls[0].function.name == "get_weather", calls[0]
assert calls[0].function.arguments == ARGUMENTS, calls[0].function.arguments
assert choice.message.content is None, choice.message.content

# The client runs the tool and sends its result, streaming this time.
history = [
    question,
    {"role": "assistant", "content": None, "tool_calls": [call.model_dump() for call in calls]},
    {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"},
]
pieces, finish, headers = {}, None, None
with client.chat.completions.with_streaming_response.create(
    model=MODEL, messages=history, tools=TOOLS, stream=True
) as response:
    headers = response.headers
    for chunk in response.parse():
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                merged = pieces.setdefault(call.index, {"name": "", "arguments": ""})
                if call.function and call.function.name:
                    merged["name"] += call.function.name
                if call.function and call.function.arguments:
                    merged["arguments"] += call.function.arguments
assert int(headers["x-chatd-conversation"]) == conversation, "found by its history"
assert finish == "tool_calls", finish
assert pieces == {0: {"name": "get_weather", "arguments": ARGUMENTS}}, pieces

print(json.dumps({"conversation": conversation}))
