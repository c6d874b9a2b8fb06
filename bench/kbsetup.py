"""Create the benchmark's data in kb's database: `python -m bench.kbsetup <modules> [bytes_per_module]`.

Prints JSON: one {"module", "byte"} per module, the API token of the bench user and that of a
staff user (for GET /api/collab/status/).
Runs with the environment of the kb server under test (DATABASE_URL etc.).
"""

from __future__ import annotations

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bytes_app import services  # noqa: E402
from bytes_app.models import Workspace  # noqa: E402


def main(modules: int, bytes_per_module: int = 1) -> dict:
    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    token, _ = Token.objects.get_or_create(user=user)
    # The operator who reads GET /api/collab/status/ (bench/load.py).
    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    admin_token, _ = Token.objects.get_or_create(user=admin)
    workspace = Workspace.objects.filter(name="Bench").first() or services.workspace_create(
        user=user, name="Bench"
    )
    rooms = []
    existing = {module.slug: module for module in workspace.modules.all()}
    for number in range(modules):
        module = existing.get(f"m{number}") or services.module_create(workspace=workspace, name=f"m{number}")
        byte_ids = list(module.bytes.values_list("id", flat=True))
        for extra in range(len(byte_ids), bytes_per_module):
            byte_ids.append(services.byte_create(module=module, user=user, title=f"b{extra}").pk)
        rooms.append({"module": module.pk, "byte": byte_ids[0], "bytes": byte_ids})
    return {"rooms": rooms, "token": token.key, "admin_token": admin_token.key}


if __name__ == "__main__":
    args = [int(value) for value in sys.argv[1:]]
    print(json.dumps(main(*args)))
