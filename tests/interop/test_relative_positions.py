"""Discussion anchors made by Yjs (the browser) are read by the server with pycrdt."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from pycrdt import Doc, StickyIndex, Text

from discussions import anchors

from .test_yjs_interop import node  # noqa: F401  (fixture: node + the npm packages, or skip/fail)

SCRIPT = Path(__file__).with_name("relative_positions.mjs")


def test_yjs_relative_positions_resolve_on_the_server(node):  # noqa: F811
    made = json.loads(
        subprocess.run([node, str(SCRIPT)], capture_output=True, check=True, cwd=SCRIPT.parent).stdout
    )
    doc: Doc = Doc()
    doc.apply_update(base64.b64decode(made["update"]))
    text = doc.get("t", type=Text)
    anchor = anchors.parse({"start": made["start"], "end": made["end"], "quote": "deploy checklist"})
    assert anchor is not None
    assert anchors.parse({"start": made["atEnd"], "end": made["atEnd"], "quote": ""}) is not None
    assert not anchors.detached(text, anchor.start, anchor.end)
    text.insert(0, "Note. ")  # edits around the passage move it, and it follows
    text.insert(len(text), " Or after.")
    begin = StickyIndex.decode(anchor.start, text).get_index()
    end = StickyIndex.decode(anchor.end, text).get_index()
    assert str(text)[begin:end] == "deploy checklist"
    del text[begin:end]
    assert anchors.detached(text, anchor.start, anchor.end)
