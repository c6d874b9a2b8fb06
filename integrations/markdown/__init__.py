"""A workspace as a folder of markdown files: modules are folders, bytes are `<slug>.md` files.

Every folder has an `_index.md` whose front matter orders its children (and, for a module, holds
its id and name; its body is the module's description). A byte file's front matter holds its id,
title and tags; the rest of the file is its content, verbatim.
"""
