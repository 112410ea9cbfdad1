"""The reference client: httpx2 used directly, the least a script needs to drive the conversations.

Same requests as evalkit (create a session, then each user message, streamed as SSE), the same
bounded concurrency and a pool of that size; each `data:` line is parsed as JSON (a script needs
the session id, and the values are what it came for). No timing of chunks, no scoring, no writing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import httpx2

API = "/forms/ai/v1/interactive-form-sessions"


async def _exchange(client: httpx2.AsyncClient, path: str, body: dict[str, object]) -> list[dict]:
    messages = []
    async with client.stream("POST", path, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
    return messages


async def _conversation(
    client: httpx2.AsyncClient, form: str, utterances: Sequence[str], slots: asyncio.Semaphore
) -> int:
    async with slots:
        created = await _exchange(client, "/create-streamed", {"formId": form, "dryRun": True})
        session = next(
            m["interactiveFormSession"]["id"] for m in created if "interactiveFormSession" in m
        )
        for text in utterances:
            await _exchange(client, f"/{session}/send-user-message-streamed", {"input": text})
    return len(utterances)


async def run_raw(
    base_url: str, form: str, conversations: Sequence[Sequence[str]], concurrency: int
) -> int:
    """Drive every conversation (a list of utterances); return the number of user turns sent."""
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)
    async with httpx2.AsyncClient(
        base_url=base_url + API,
        limits=limits,
        timeout=60.0,
        headers={"Accept": "text/event-stream"},
    ) as client:
        counts = await asyncio.gather(
            *(_conversation(client, form, turns, slots) for turns in conversations)
        )
    return sum(counts)
