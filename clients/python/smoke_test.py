"""Smoke test of the generated Python client against a live backup-master.

Lists the components, starts a backup, waits for it to end, checks it succeeded and reads its
report. Environment: BM_URL (e.g. http://127.0.0.1:8080), BM_TOKEN (an operator or admin token).
Run with the client installed: `python smoke_test.py`; exits non-zero on failure.
"""

import os
import sys
import time

from backup_master_client import AuthenticatedClient
from backup_master_client.api.backups import get_backup, get_backup_report, start_backup
from backup_master_client.api.components import list_components
from backup_master_client.models import BackupRecord, BackupStatus, ComponentView


def check(cond: object, what: str) -> None:
    """Like assert, but also under `python -O`."""
    if not cond:
        raise AssertionError(what)


def check_report(report: str) -> None:
    """The last line is `Final completion date: ...`, preceded by the success line."""
    lines = report.rstrip().splitlines()
    if not (
        len(lines) >= 2
        and lines[-1].startswith("Final completion date: ")
        and lines[-2] == "The backup was completed successfully"
    ):
        raise AssertionError(f"unexpected report ending:\n{report}")


def main() -> None:
    client = AuthenticatedClient(base_url=os.environ["BM_URL"], token=os.environ["BM_TOKEN"])
    with client:
        r = list_components.sync_detailed(client=client)
        check(r.status_code == 200, f"list components: {r.status_code} {r.content!r}")
        check(isinstance(r.parsed, list) and r.parsed, f"no components: {r.parsed!r}")
        check(
            all(isinstance(c, ComponentView) for c in r.parsed), "all(isinstance(c, ComponentView) for c in r.parsed)"
        )
        print("components:", [c.name for c in r.parsed])

        r = start_backup.sync_detailed(client=client)
        check(r.status_code == 202, f"start backup: {r.status_code} {r.content!r}")
        check(isinstance(r.parsed, BackupRecord), "isinstance(r.parsed, BackupRecord)")
        backup_id = r.parsed.id
        print(f"started backup {backup_id} ({r.parsed.status})")

        deadline = time.monotonic() + 120
        while True:
            record = get_backup.sync(backup_id, client=client)
            check(isinstance(record, BackupRecord), f"get backup: {record!r}")
            if record.status != BackupStatus.RUNNING:
                break
            check(time.monotonic() < deadline, f"backup {backup_id} still running after 120 s")
            time.sleep(0.2)
        print(f"backup {backup_id} ended: {record.status}")
        check(record.status == BackupStatus.SUCCEEDED, f"{record.status}: {record.errors}")

        r = get_backup_report.sync_detailed(backup_id, client=client)
        check(r.status_code == 200, f"report: {r.status_code} {r.content!r}")
        check(r.headers["content-type"].startswith("text/plain"), r.headers["content-type"])
        check(isinstance(r.parsed, str), "isinstance(r.parsed, str)")
        check_report(r.parsed)
        print(f"report: {len(r.parsed.splitlines())} lines, ends as expected")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a smoke test reports any failure the same way
        print(f"python smoke: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("python smoke: ok")
