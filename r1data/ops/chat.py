"""Chats as real files hold them: role/content or ShareGPT's from/value turns, content as a string or as typed
parts, tool calls and observations, and prompts that already carry a chat template rendered into one string.

Pure functions over Python values: no tables, no paths."""

from __future__ import annotations

import json
import re
from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
# Role names of every convention, as the role r1data writes. Tool turns keep their own roles.
ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "model": "assistant",
    "bot": "assistant",
    "chatgpt": "assistant",
    "function_call": "function_call",
    "tool_call": "function_call",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
    "developer": "system",
}
# Back to ShareGPT's names (LLaMA-Factory's `tags`: human, gpt, observation, function_call, system).
SHAREGPT_ROLES = {
    "user": "human",
    "assistant": "gpt",
    "system": "system",
    "function_call": "function_call",
    "tool": "observation",
}
TEXT_PART_TYPES = ("text", "input_text", "output_text")
REASONING_PART_TYPES = ("reasoning", "thinking", "reasoning_content")


class UnknownRole(ValueError):
    """A turn whose role r1data does not know (the message names it and the roles known)."""


def part_text(part: Any) -> tuple[str, str]:
    """(text, reasoning) of one typed content part ({"type": "text", "text": ...}; LLaMA-Factory's
    {"type": ..., "value": ...}; a reasoning part)."""
    if isinstance(part, str):
        return part, ""
    if not isinstance(part, dict):
        return "", ""
    kind = str(part.get("type") or "text").lower()
    value = part.get(kind) if isinstance(part.get(kind), str) else None
    if value is None:
        value = next(
            (part[k] for k in ("text", "value", "content", "reasoning", "thinking") if isinstance(part.get(k), str)), ""
        )
    if kind in REASONING_PART_TYPES:
        return "", value
    if kind in TEXT_PART_TYPES or kind not in ("image", "image_url", "audio", "video", "input_image", "file"):
        return value, ""
    return "", ""


def content_text(content: Any) -> tuple[str, str, bool]:
    """(text, reasoning, typed) of a turn's content: a string, or a list of typed parts (text parts joined,
    reasoning parts apart)."""
    if content is None:
        return "", "", False
    if isinstance(content, str):
        return content, "", False
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list | tuple):
        texts, thoughts = [], []
        for part in content:
            text, thought = part_text(part)
            if text:
                texts.append(text)
            if thought:
                thoughts.append(thought)
        return "\n".join(texts), "\n".join(thoughts), True
    return str(content), "", False


def with_thought(text: str, reasoning: str) -> str:
    """An assistant turn whose reasoning was kept apart, as one trace: <think>REASONING</think> TEXT."""
    if not reasoning:
        return text
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{text.strip()}"


def turns(chat: Any, where: str = "") -> tuple[list[dict], set[str]]:
    """A chat in any convention as role/content turns (every turn kept, in order), and what was adjusted
    ("typed parts", "reasoning parts"). A role r1data does not know raises UnknownRole."""
    out, seen = [], set()
    if isinstance(chat, str):
        try:
            chat = json.loads(chat)
        except ValueError:
            return [{"role": "user", "content": chat}], seen
    for turn in chat or []:
        if not isinstance(turn, dict):
            continue
        # a column mixing role/content and from/value turns reads as one struct with all four fields, half null
        raw = turn.get("role") if turn.get("role") is not None else turn.get("from")
        role = ROLES.get(str(raw).strip().lower()) if raw is not None else None
        if role is None:
            raise UnknownRole(f"{where}: a turn's role is '{raw}'; known roles: {', '.join(sorted(ROLES))}")
        content = turn.get("content") if turn.get("content") is not None else turn.get("value")
        text, reasoning, typed = content_text(content)
        if typed:
            seen.add("typed content parts read as text")
        if isinstance(turn.get("reasoning_content"), str) and turn["reasoning_content"].strip():
            reasoning = (reasoning + "\n" + turn["reasoning_content"]).strip()
        if reasoning and role == "assistant":
            seen.add("reasoning parts read as the trace's <think> block")
            text = with_thought(text, reasoning)
        if role == "function_call" and not text and turn.get("tool_calls"):
            text = json.dumps(turn["tool_calls"], ensure_ascii=False)
        if role == "assistant" and not text and turn.get("tool_calls"):
            role, text = "function_call", json.dumps(turn["tool_calls"], ensure_ascii=False)
        out.append({"role": role, "content": text})
    return out, seen


def first(chat: list[dict], role: str) -> str | None:
    return next((t["content"] for t in chat if t["role"] == role), None)


def last(chat: list[dict], role: str) -> str | None:
    return next((t["content"] for t in reversed(chat) if t["role"] == role), None)


# ---------------------------------------------------------------------------------------------------------------
# Chat templates rendered into a prompt string

# (name, user turn opens, user turn ends): the user's text is what lies between, in the last user turn.
_TEMPLATES = (
    ("chatml", re.compile(r"<\|im_start\|>\s*user\s*\n?"), re.compile(r"<\|im_end\|>|<\|im_start\|>")),
    (
        "llama3",
        re.compile(r"<\|start_header_id\|>\s*user\s*<\|end_header_id\|>\s*"),
        re.compile(r"<\|eot_id\|>|<\|start_header_id\|>"),
    ),
    ("deepseek", re.compile(r"<[|｜]\s*User\s*[|｜]>\s*"), re.compile(r"<[|｜]\s*Assistant\s*[|｜]>|<[|｜]\s*end")),
    ("zephyr", re.compile(r"<\|user\|>\s*"), re.compile(r"<\|end\|>|</s>|<\|assistant\|>|<\|system\|>")),
    ("gemma", re.compile(r"<start_of_turn>\s*user\s*\n?"), re.compile(r"<end_of_turn>|<start_of_turn>")),
    ("llama2", re.compile(r"\[INST\]\s*(?:<<SYS>>.*?<</SYS>>\s*)?", re.DOTALL), re.compile(r"\[/INST\]")),
    # DeepSeek-R1-Zero's prompt ("A conversation between User and Assistant. ... User: {q} Assistant: <think>")
    (
        "r1-zero",
        re.compile(r"A conversation between User and Assistant\..*?\bUser:\s*", re.DOTALL),
        re.compile(r"\s*\n?\s*Assistant:\s*(?:<think>)?\s*$"),
    ),
)
_ANY_MARKER = re.compile(
    r"<\|im_start\|>|<\|start_header_id\|>|<[|｜]\s*(?:User|Assistant)\s*[|｜]>|<\|user\|>|"
    r"<start_of_turn>|\[INST\]|A conversation between User and Assistant\.|"
    r"<\|begin▁of▁sentence\|>|<｜begin▁of▁sentence｜>"
)


TEMPLATE_MARKERS = _ANY_MARKER.pattern  # also a valid polars (Rust) regex: a vectorised search for candidate rows


def has_template(text: Any) -> bool:
    return isinstance(text, str) and _ANY_MARKER.search(text) is not None


def strip_template(text: str) -> tuple[str, str | None]:
    """(the user's own text, the template's name) for a prompt rendered with a chat template; (text, None) when it
    holds none. The system turn and the opened assistant turn go; the last user turn's text stays."""
    if not has_template(text):
        return text, None
    for name, opens, ends in _TEMPLATES:
        starts = list(opens.finditer(text))
        if not starts:
            continue
        begin = starts[-1].end()
        end = ends.search(text, begin)
        body = text[begin : end.start() if end else len(text)].strip()
        if body:
            return body, name
    return text, None
