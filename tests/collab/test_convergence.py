"""Randomized convergence: several clients, hundreds of random inserts and deletes, random
disconnects (editing on while offline) and reconnects. Everyone ends with the same text, every
unique marker typed appears at most once (nothing doubled), and REST serves that text."""

from __future__ import annotations

import asyncio
import random
import re

import pytest
from pycrdt import Doc, Text

from bytes_app.models import Byte

from .client import YClient, byte_offset
from .conftest import db_call

pytestmark = pytest.mark.django_db(transaction=True)
MARKER = re.compile(r"<\d+\.\d+>")


class Editor:
    def __init__(self, url: str, number: int, rng: random.Random) -> None:
        self.url, self.number, self.rng = url, number, rng
        self.doc: Doc = Doc()
        self.client: YClient | None = None
        self.typed = 0

    async def connect(self) -> None:
        self.client = YClient(self.url)
        self.client.doc.apply_update(self.doc.get_update())
        self.doc = self.client.doc
        assert await self.client.connect()
        await self.client.sync()

    async def disconnect(self) -> None:
        assert self.client is not None
        await self.client.close()
        self.client = None

    def edit(self, byte_id: int) -> None:
        text = self.doc.get(f"byte:{byte_id}", type=Text)
        current = str(text)
        markers = list(MARKER.finditer(current))
        if markers and self.rng.random() < 0.3:
            # delete whole markers only, so that a deletion can never forge a marker that
            # then looks doubled
            found = self.rng.choice(markers)
            del text[byte_offset(current, found.start()) : byte_offset(current, found.end())]
        else:
            self.typed += 1
            at = self.rng.randint(0, len(current))
            text.insert(byte_offset(current, at), f"<{self.number}.{self.typed}>")


@pytest.mark.parametrize("seed", [7, 8])
async def test_random_edits_with_disconnects_converge_without_doubling(team, module_url, seed):
    rng = random.Random(seed)
    byte_id = team["byte"].pk
    editors = [Editor(module_url(team[role]), n, rng) for n, role in enumerate(["editor", "owner", "editor"])]
    for editor in editors:
        await editor.connect()
    for _ in range(300):
        editor = rng.choice(editors)
        editor.edit(byte_id)
        if editor.client is not None:
            await editor.client.flush()
            if rng.random() < 0.3:
                await editor.client.pump(0.001)
        if rng.random() < 0.03:
            if editor.client is not None:
                await editor.disconnect()
            else:
                await editor.connect()
    for editor in editors:
        if editor.client is None:
            await editor.connect()
    for _ in range(5):
        for editor in editors:
            await editor.client.pump(0.02)
    texts = {str(editor.client.text(byte_id)) for editor in editors}
    assert len(texts) == 1, texts
    final = texts.pop()
    markers = MARKER.findall(final)
    assert len(markers) == len(set(markers)), "some text was doubled"
    late = YClient(module_url(team["viewer"]))
    assert await late.connect()
    await late.sync()
    assert str(late.text(byte_id)) == final

    async def stored() -> bool:
        return (await db_call(Byte.objects.get)(pk=byte_id)).content == final

    for _ in range(100):
        if await stored():
            break
        await asyncio.sleep(0.05)
    assert await stored()
    for client in [editor.client for editor in editors] + [late]:
        await client.close()
