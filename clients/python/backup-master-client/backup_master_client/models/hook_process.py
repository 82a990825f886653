from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hook_kind import HookKind
from ..models.hook_name import HookName
from ..models.hook_status import HookStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="HookProcess")


@_attrs_define
class HookProcess:
    """One hook process, as listed by the API and stored in `<id>.json`.

    Attributes:
        command (str): The command as configured when it was started. Example: /opt/scripts/to-tape.sh --all.
        hook (HookName): Which configured command.
        id (str): Unique, sorts by start time; also the name of its log file. Example: 20261126T020004.123Z-1a2b3c4d.
        kind (HookKind): Why a hook process was started.
        lines (int): Output lines so far (the numbers of its output lines are 1..=lines).
        started_at (datetime.datetime): When it was started (or skipped / failed to start).
        status (HookStatus): Where a hook process is in its life. Every status but `running` is final.
        backup_id (None | str | Unset): The backup it ran after (for a test run: the backup whose values it was given).
            Example: 20261126T020000Z.
        error (None | str | Unset): Why it failed to start, was skipped or orphaned, or what went wrong around it.
        exit_code (int | None | Unset): Exit code when it exited normally.
        finished_at (datetime.datetime | None | Unset): When it ended; absent while running.
        pid (int | None | Unset): Process ID of the child, which is also its process group ID. Example: 4711.
        signal (int | None | Unset): Number of the signal that ended it, when one did.
    """

    command: str
    hook: HookName
    id: str
    kind: HookKind
    lines: int
    started_at: datetime.datetime
    status: HookStatus
    backup_id: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    exit_code: int | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    pid: int | None | Unset = UNSET
    signal: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        command = self.command

        hook = self.hook.value

        id = self.id

        kind = self.kind.value

        lines = self.lines

        started_at = self.started_at.isoformat()

        status = self.status.value

        backup_id: None | str | Unset
        if isinstance(self.backup_id, Unset):
            backup_id = UNSET
        else:
            backup_id = self.backup_id

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        exit_code: int | None | Unset
        if isinstance(self.exit_code, Unset):
            exit_code = UNSET
        else:
            exit_code = self.exit_code

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        pid: int | None | Unset
        if isinstance(self.pid, Unset):
            pid = UNSET
        else:
            pid = self.pid

        signal: int | None | Unset
        if isinstance(self.signal, Unset):
            signal = UNSET
        else:
            signal = self.signal

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "command": command,
                "hook": hook,
                "id": id,
                "kind": kind,
                "lines": lines,
                "started_at": started_at,
                "status": status,
            }
        )
        if backup_id is not UNSET:
            field_dict["backup_id"] = backup_id
        if error is not UNSET:
            field_dict["error"] = error
        if exit_code is not UNSET:
            field_dict["exit_code"] = exit_code
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if pid is not UNSET:
            field_dict["pid"] = pid
        if signal is not UNSET:
            field_dict["signal"] = signal

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        command = d.pop("command")

        hook = HookName(d.pop("hook"))

        id = d.pop("id")

        kind = HookKind(d.pop("kind"))

        lines = d.pop("lines")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = HookStatus(d.pop("status"))

        def _parse_backup_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        backup_id = _parse_backup_id(d.pop("backup_id", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_exit_code(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        exit_code = _parse_exit_code(d.pop("exit_code", UNSET))

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        def _parse_pid(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pid = _parse_pid(d.pop("pid", UNSET))

        def _parse_signal(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        signal = _parse_signal(d.pop("signal", UNSET))

        hook_process = cls(
            command=command,
            hook=hook,
            id=id,
            kind=kind,
            lines=lines,
            started_at=started_at,
            status=status,
            backup_id=backup_id,
            error=error,
            exit_code=exit_code,
            finished_at=finished_at,
            pid=pid,
            signal=signal,
        )

        hook_process.additional_properties = d
        return hook_process

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
