"""chatd's front door forks a conversation where a client went back, driven by the
official `openai` Python SDK (pinned in .ci/setup).

Run by chatd/tests/api/front_door_forks.rs as `python forks.py BASE_URL`. A client that
resends its whole history edits its second question (it resends the history before
it, then the new text), goes on from the edit, and a second copy of the client that
still holds the first version goes on from that. Prints, as one JSON line, the
conversation each turn landed in.
"""

import json
import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=20)
MODEL = "fake-model"
REPLY = "The answer"


def turn(history, text, stream=False):
    """One turn of a client that resends its whole history; the history after it and
    the conversation chatd put it in."""
    history = history + [{"role": "user", "content": text}]
    if stream:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=history, stream=True
        )
        content = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in raw.parse()
            if chunk.choices
        )
    else:
        raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=history)
        content = raw.parse().choices[0].message.content
    assert content == REPLY, content
    conversation = int(raw.headers["x-chatd-conversation"])
    return history + [{"role": "assistant", "content": content}], conversation


out = {}
first, out["first"] = turn([], "first question")
old, out["second"] = turn(first, "second question")
edited, out["edit"] = turn(first, "second question, edited")
_, out["after_edit"] = turn(edited, "third question", stream=True)
_, out["on_old"] = turn(old, "third question, on the old branch")
print(json.dumps(out))
