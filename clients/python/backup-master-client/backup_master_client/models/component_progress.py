from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.component_status import ComponentStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.freeze_record import FreezeRecord


T = TypeVar("T", bound="ComponentProgress")


@_attrs_define
class ComponentProgress:
    """Per-component details of a backup.

    Attributes:
        folder (str): The component's backup folder (slot 0), e.g. `/srv/lui/backup`.
        name (str): Component name.
        status (ComponentStatus): One component's state within a backup.
        agent (None | str | Unset): For a remote component: its agent's URL (its `folder` is a path on that machine).
        bytes_cloned (int | Unset): Absent when no file was cloned.
        bytes_copied (int | Unset):
        bytes_linked (int | Unset):
        changed_during_backup (list[str] | Unset): Files that changed while they were copied, also when copied again
            (three more times):
            their copy may be torn. The first 100, relative to the home; absent when none did. With
            `on_change = "fail"` such a file fails the component.
        changed_during_backup_count (int | Unset): How many files changed while copied in all; absent when none did.
        duration_ms (int | None | Unset): Time spent preparing, in milliseconds.
        errors (list[str] | Unset): This component's errors, one line each.
        files (int | Unset): Regular files in the backup (known once the items were listed).
        files_cloned (int | Unset): Files cloned from the home (`FICLONE`, where the backup folder and the home are on
            one
            file system that can share extents): a real, independent copy that shares the blocks.
            Absent when none was.
        files_copied (int | Unset): Files copied (new or changed since the previous backup).
        files_linked (int | Unset): Files hard-linked from the previous backup (unchanged).
        finished_at (datetime.datetime | None | Unset):
        freeze (FreezeRecord | None | Unset):
        keep (int | Unset): Previous backups kept when this backup ran (used to finish the rotation on recovery).
        started_at (datetime.datetime | None | Unset):
    """

    folder: str
    name: str
    status: ComponentStatus
    agent: None | str | Unset = UNSET
    bytes_cloned: int | Unset = UNSET
    bytes_copied: int | Unset = UNSET
    bytes_linked: int | Unset = UNSET
    changed_during_backup: list[str] | Unset = UNSET
    changed_during_backup_count: int | Unset = UNSET
    duration_ms: int | None | Unset = UNSET
    errors: list[str] | Unset = UNSET
    files: int | Unset = UNSET
    files_cloned: int | Unset = UNSET
    files_copied: int | Unset = UNSET
    files_linked: int | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    freeze: FreezeRecord | None | Unset = UNSET
    keep: int | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.freeze_record import FreezeRecord  # noqa: PLC0415

        folder = self.folder

        name = self.name

        status = self.status.value

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        bytes_cloned = self.bytes_cloned

        bytes_copied = self.bytes_copied

        bytes_linked = self.bytes_linked

        changed_during_backup: list[str] | Unset = UNSET
        if not isinstance(self.changed_during_backup, Unset):
            changed_during_backup = self.changed_during_backup

        changed_during_backup_count = self.changed_during_backup_count

        duration_ms: int | None | Unset
        if isinstance(self.duration_ms, Unset):
            duration_ms = UNSET
        else:
            duration_ms = self.duration_ms

        errors: list[str] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        files = self.files

        files_cloned = self.files_cloned

        files_copied = self.files_copied

        files_linked = self.files_linked

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        freeze: dict[str, Any] | None | Unset
        if isinstance(self.freeze, Unset):
            freeze = UNSET
        elif isinstance(self.freeze, FreezeRecord):
            freeze = self.freeze.to_dict()
        else:
            freeze = self.freeze

        keep = self.keep

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "folder": folder,
                "name": name,
                "status": status,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent
        if bytes_cloned is not UNSET:
            field_dict["bytes_cloned"] = bytes_cloned
        if bytes_copied is not UNSET:
            field_dict["bytes_copied"] = bytes_copied
        if bytes_linked is not UNSET:
            field_dict["bytes_linked"] = bytes_linked
        if changed_during_backup is not UNSET:
            field_dict["changed_during_backup"] = changed_during_backup
        if changed_during_backup_count is not UNSET:
            field_dict["changed_during_backup_count"] = changed_during_backup_count
        if duration_ms is not UNSET:
            field_dict["duration_ms"] = duration_ms
        if errors is not UNSET:
            field_dict["errors"] = errors
        if files is not UNSET:
            field_dict["files"] = files
        if files_cloned is not UNSET:
            field_dict["files_cloned"] = files_cloned
        if files_copied is not UNSET:
            field_dict["files_copied"] = files_copied
        if files_linked is not UNSET:
            field_dict["files_linked"] = files_linked
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if freeze is not UNSET:
            field_dict["freeze"] = freeze
        if keep is not UNSET:
            field_dict["keep"] = keep
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.freeze_record import FreezeRecord  # noqa: PLC0415

        d = dict(src_dict)
        folder = d.pop("folder")

        name = d.pop("name")

        status = ComponentStatus(d.pop("status"))

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        bytes_cloned = d.pop("bytes_cloned", UNSET)

        bytes_copied = d.pop("bytes_copied", UNSET)

        bytes_linked = d.pop("bytes_linked", UNSET)

        changed_during_backup = cast(list[str], d.pop("changed_during_backup", UNSET))

        changed_during_backup_count = d.pop("changed_during_backup_count", UNSET)

        def _parse_duration_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms", UNSET))

        errors = cast(list[str], d.pop("errors", UNSET))

        files = d.pop("files", UNSET)

        files_cloned = d.pop("files_cloned", UNSET)

        files_copied = d.pop("files_copied", UNSET)

        files_linked = d.pop("files_linked", UNSET)

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

        def _parse_freeze(data: object) -> FreezeRecord | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                freeze_type_1 = FreezeRecord.from_dict(data)

                return freeze_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FreezeRecord | None | Unset, data)

        freeze = _parse_freeze(d.pop("freeze", UNSET))

        keep = d.pop("keep", UNSET)

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        component_progress = cls(
            folder=folder,
            name=name,
            status=status,
            agent=agent,
            bytes_cloned=bytes_cloned,
            bytes_copied=bytes_copied,
            bytes_linked=bytes_linked,
            changed_during_backup=changed_during_backup,
            changed_during_backup_count=changed_during_backup_count,
            duration_ms=duration_ms,
            errors=errors,
            files=files,
            files_cloned=files_cloned,
            files_copied=files_copied,
            files_linked=files_linked,
            finished_at=finished_at,
            freeze=freeze,
            keep=keep,
            started_at=started_at,
        )

        component_progress.additional_properties = d
        return component_progress

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
