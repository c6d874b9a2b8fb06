"""`python -m bench.doc_growth`: the C heap a pycrdt document holds as it is typed into.

A Yjs document keeps a struct for every insertion ever made, deleted or not, so the memory of a
loaded room grows with its edit history (tests/soak bounds memory idle for that reason). This
types tokens like the soak's editors (`[e3n1234]`, half at the end, half anywhere; 40% of them
deleted again later) into two texts and prints the heap in use against the text's own size.
"""

from __future__ import annotations

import argparse
import random

from pycrdt import Doc, Text

from collab import memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insertions", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(2)
    before = memory.report()["heap_in_use_bytes"]
    if before is None:
        raise SystemExit("mallinfo2 is not available here (glibc 2.33 or later is needed)")
    doc: Doc = Doc()
    texts = [doc.get("byte:1", type=Text), doc.get("byte:2", type=Text)]
    typed: list[tuple[int, str]] = []
    step = max(1, args.insertions // 4)
    print("insertions  heap in use (MiB)  per insertion (B)  encoded (MiB)  text (MiB)")
    for n in range(1, args.insertions + 1):
        which = n % 2
        text = texts[which]
        token = f"[e{n % 9}n{n}]"
        text.insert(rng.randrange(len(text) + 1) if rng.random() < 0.5 else len(text), token)
        typed.append((which, token))
        if rng.random() < 0.4:
            which, token = typed.pop(rng.randrange(len(typed)))
            at = str(texts[which]).find(token)
            if at >= 0:  # (not when a later token went in inside it)
                del texts[which][at : at + len(token)]
        if n % step == 0:
            grown = memory.report()["heap_in_use_bytes"] - before  # type: ignore[operator]
            chars = sum(len(str(t)) for t in texts)
            print(
                f"{n:>10,}  {grown / 2**20:>17.1f}  {grown / n:>17.0f}  "
                f"{len(doc.get_update()) / 2**20:>13.1f}  {chars / 2**20:>10.1f}"
            )


if __name__ == "__main__":
    main()
