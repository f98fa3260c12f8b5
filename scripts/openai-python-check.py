#!/usr/bin/env python3
"""Checks a running `owl2j serve` with the official OpenAI Python client (a client nobody here wrote).

    python3 -m venv /tmp/oai && /tmp/oai/bin/pip install openai
    ./owl2j serve --port 8080 &
    /tmp/oai/bin/python scripts/openai-python-check.py http://127.0.0.1:8080/v1

Not part of ./build test (CI has no Python client; the Java tests use the official openai-java SDK). Every check
compares the server's answers with each other or with OpenAI's documented shapes, so it works with any model,
the random embedded default included. Prints one line per check; exits 1 at the first failure.
"""
import base64
import json
import os
import pathlib
import sys

from openai import BadRequestError, NotFoundError, OpenAI

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/v1"
client = OpenAI(base_url=base, api_key=os.environ.get("OWL2J_API_KEY", "unused"), max_retries=0)
image = pathlib.Path(__file__).resolve().parent.parent / "testdata" / "tiny-owl2-f16" / "image0.png"


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def refused(call, status_class, param=None, code=None):
    try:
        call()
    except status_class as e:
        err = e.body if isinstance(e.body, dict) else {}
        return (param is None or err.get("param") == param) and (code is None or err.get("code") == code)
    return False


# /v1/models: names, never a path on the server
models = client.models.list().data
name = models[0].id
check(all(not m.id.startswith("/") and "\\" not in m.id for m in models), f"model ids are names ({[m.id for m in models]})")
check(client.models.retrieve(name).id == name, "GET /v1/models/NAME")
user = [{"role": "user", "content": "Describe a beach in one sentence."}]

# greedy chat: reproducible, usage counts the tokens that came back
a = client.chat.completions.create(model=name, messages=user, max_tokens=12, temperature=0, logprobs=True, top_logprobs=3)
b = client.chat.completions.create(model=name, messages=user, max_tokens=12, temperature=0)
check(a.choices[0].message.content == b.choices[0].message.content, "greedy answers repeat")
lps = a.choices[0].logprobs.content
check(a.usage.completion_tokens == len(lps), f"usage.completion_tokens {a.usage.completion_tokens} = tokens with a logprob {len(lps)}")
check(a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens, "usage.total_tokens is the sum")
# (the answer drops the space SentencePiece puts before its first word, as the model's own decoding does)
spelled = "".join(t.token for t in lps)
check(spelled.removeprefix(" ") == a.choices[0].message.content, "the logprob tokens spell the answer")
check(all(len(t.top_logprobs) == 3 and t.top_logprobs[0].logprob >= t.logprob - 1e-6
          and all(x.logprob <= 0 for x in t.top_logprobs) for t in lps),
      "top_logprobs: 3 alternatives each, the first at least as likely as the greedy choice")

# the same answer streamed, with usage in the last chunk
text, usage, streamed_lps, finish = "", None, 0, None
for chunk in client.chat.completions.create(model=name, messages=user, max_tokens=12, temperature=0, logprobs=True,
                                            stream=True, stream_options={"include_usage": True}):
    if chunk.usage is not None:
        usage = chunk.usage
    for ch in chunk.choices:
        text += ch.delta.content or ""
        streamed_lps += len(ch.logprobs.content) if ch.logprobs and ch.logprobs.content else 0
        finish = ch.finish_reason or finish
check(text == a.choices[0].message.content, "streamed text equals the plain answer")
check(usage is not None and usage.model_dump() == a.usage.model_dump(), "streamed usage equals the plain answer's")
check(streamed_lps == len(lps) and finish == a.choices[0].finish_reason, "streamed logprobs and finish_reason")

# an image: its visual tokens count in prompt_tokens
data = "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode()
with_image = client.chat.completions.create(model=name, max_tokens=4, temperature=0, messages=[{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": data}}, {"type": "text", "text": "Describe a beach in one sentence."}]}])
check(with_image.usage.prompt_tokens > a.usage.prompt_tokens + 60,
      f"an image adds its visual tokens to prompt_tokens ({a.usage.prompt_tokens} -> {with_image.usage.prompt_tokens})")

# n choices, seeded: choice 0 is the single-choice answer of the same seed
many = client.chat.completions.create(model=name, messages=user, max_tokens=8, temperature=1, seed=7, n=3)
one = client.chat.completions.create(model=name, messages=user, max_tokens=8, temperature=1, seed=7)
check([c.index for c in many.choices] == [0, 1, 2], "n=3 gives choices 0, 1, 2")
check(many.choices[0].message.content == one.choices[0].message.content, "choice 0 of n equals the n=1 answer of the seed")
check(3 <= many.usage.completion_tokens <= 24 and many.usage.prompt_tokens == one.usage.prompt_tokens,
      f"n: completion_tokens sums the choices ({many.usage.completion_tokens}), the prompt is counted once")

# structured output: the reply parses and has the schema's shape
schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "stars": {"type": "integer"}},
          "required": ["name", "stars"], "additionalProperties": False}
s = client.chat.completions.create(model=name, messages=user, max_tokens=60, response_format={
    "type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}})
value = json.loads(s.choices[0].message.content)
check(set(value) == {"name", "stars"} and isinstance(value["name"], str) and len(value["name"]) <= 12
      and isinstance(value["stars"], int), f"json_schema reply is valid: {value}")
o = client.chat.completions.create(model=name, messages=user, max_tokens=40, response_format={"type": "json_object"})
check(isinstance(json.loads(o.choices[0].message.content), dict), "json_object reply is an object")

# /v1/completions as evaluation harnesses call it: echo + logprobs + max_tokens 0
c = client.completions.create(model=name, prompt="The quick brown fox", max_tokens=0, echo=True, logprobs=1)
lp = c.choices[0].logprobs
check(c.choices[0].text == "The quick brown fox", "echo returns the prompt")
check(lp.token_logprobs[0] is None and all(x <= 0 for x in lp.token_logprobs[1:]) and len(lp.tokens) == c.usage.prompt_tokens,
      "echo logprobs: none for the first token, one per further prompt token")
g = client.completions.create(model=name, prompt="The quick brown fox", max_tokens=6, temperature=0, stop=["\n"])
check(g.usage.completion_tokens <= 6 and g.choices[0].finish_reason in ("stop", "length"), "completions generate")

# nothing a client asks for is ignored: unsupported fields are 400s naming them, unknown models 404
tool = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
check(refused(lambda: client.chat.completions.create(model=name, messages=user, tools=tool), BadRequestError, "tools"),
      "tools: 400 naming the field")
check(refused(lambda: client.chat.completions.create(model=name, messages=user, max_tokens=1, extra_body={"mystery": 1}),
              BadRequestError, "mystery", "unknown_parameter"), "an unknown field: 400 naming it")
check(refused(lambda: client.chat.completions.create(model="no-such-model", messages=user, max_tokens=1),
              NotFoundError, code="model_not_found"), "an unknown model: 404 model_not_found")
print("all checks passed against", base, "model", name)
