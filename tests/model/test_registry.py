"""The component registry under threads: a built-in being imported is waited for, not missed."""

import sys
import threading

from v2m.model.registry import Registry


def test_a_builtin_asked_for_by_two_threads_while_it_imports_is_found_by_both(tmp_path):
    (tmp_path / "slow_member.py").write_text(
        "import time\ntime.sleep(0.5)  # a heavy import\n\n\nclass Slow:\n    name = 'slow'\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        registry = Registry("thing", {"slow": "slow_member:Slow"}, lambda cls: cls)
        found, failed = [], []

        def ask() -> None:
            try:
                found.append(registry.get("slow").name)
            except Exception as exc:  # noqa: BLE001 — collected for the assert
                failed.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slow_member", None)
    assert (found, failed) == (["slow", "slow"], [])
