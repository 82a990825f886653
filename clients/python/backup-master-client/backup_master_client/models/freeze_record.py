from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.snapshot_mode import SnapshotMode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.outcome import Outcome


T = TypeVar("T", bound="FreezeRecord")


@_attrs_define
class FreezeRecord:
    """What a backup did to give one component its point in time (`freeze` in the component's
    record): the freeze, the read point, the thaw, their times and the commands' outcomes. The
    flags `frozen` and `snapshot_held` are the journal a restart reads: whatever is still frozen
    is thawed, whatever snapshot is still held is released.

        Attributes:
            snapshot_mode (SnapshotMode): Where a component's copy reads from (`snapshot`).
            errors (list[str] | Unset): What went wrong in these steps, one line each.
            freeze_command (None | Outcome | Unset):
            freeze_seconds (float | None | Unset): Seconds from the freeze's start to the end of the thaw.
            freeze_started_at (datetime.datetime | None | Unset):
            frozen (bool | Unset): The freeze command was started and no thaw has ended it yet.
            frozen_during_copy (bool | Unset): The read point was the live home, so the component stayed frozen during the
                whole copy.
            read_point_at (datetime.datetime | None | Unset): When the read point was taken: the snapshot made, or (live)
                the freeze done.
            release_command (None | Outcome | Unset):
            snapshot (None | str | Unset): The path the copy read from when it was a snapshot.
            snapshot_command (None | Outcome | Unset):
            snapshot_held (bool | Unset): A snapshot is (or is being) made and not yet released.
            thaw_attempts (int | Unset):
            thaw_command (None | Outcome | Unset):
            thawed_at (datetime.datetime | None | Unset):
    """

    snapshot_mode: SnapshotMode
    errors: list[str] | Unset = UNSET
    freeze_command: None | Outcome | Unset = UNSET
    freeze_seconds: float | None | Unset = UNSET
    freeze_started_at: datetime.datetime | None | Unset = UNSET
    frozen: bool | Unset = UNSET
    frozen_during_copy: bool | Unset = UNSET
    read_point_at: datetime.datetime | None | Unset = UNSET
    release_command: None | Outcome | Unset = UNSET
    snapshot: None | str | Unset = UNSET
    snapshot_command: None | Outcome | Unset = UNSET
    snapshot_held: bool | Unset = UNSET
    thaw_attempts: int | Unset = UNSET
    thaw_command: None | Outcome | Unset = UNSET
    thawed_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.outcome import Outcome  # noqa: PLC0415

        snapshot_mode = self.snapshot_mode.value

        errors: list[str] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        freeze_command: dict[str, Any] | None | Unset
        if isinstance(self.freeze_command, Unset):
            freeze_command = UNSET
        elif isinstance(self.freeze_command, Outcome):
            freeze_command = self.freeze_command.to_dict()
        else:
            freeze_command = self.freeze_command

        freeze_seconds: float | None | Unset
        if isinstance(self.freeze_seconds, Unset):
            freeze_seconds = UNSET
        else:
            freeze_seconds = self.freeze_seconds

        freeze_started_at: None | str | Unset
        if isinstance(self.freeze_started_at, Unset):
            freeze_started_at = UNSET
        elif isinstance(self.freeze_started_at, datetime.datetime):
            freeze_started_at = self.freeze_started_at.isoformat()
        else:
            freeze_started_at = self.freeze_started_at

        frozen = self.frozen

        frozen_during_copy = self.frozen_during_copy

        read_point_at: None | str | Unset
        if isinstance(self.read_point_at, Unset):
            read_point_at = UNSET
        elif isinstance(self.read_point_at, datetime.datetime):
            read_point_at = self.read_point_at.isoformat()
        else:
            read_point_at = self.read_point_at

        release_command: dict[str, Any] | None | Unset
        if isinstance(self.release_command, Unset):
            release_command = UNSET
        elif isinstance(self.release_command, Outcome):
            release_command = self.release_command.to_dict()
        else:
            release_command = self.release_command

        snapshot: None | str | Unset
        if isinstance(self.snapshot, Unset):
            snapshot = UNSET
        else:
            snapshot = self.snapshot

        snapshot_command: dict[str, Any] | None | Unset
        if isinstance(self.snapshot_command, Unset):
            snapshot_command = UNSET
        elif isinstance(self.snapshot_command, Outcome):
            snapshot_command = self.snapshot_command.to_dict()
        else:
            snapshot_command = self.snapshot_command

        snapshot_held = self.snapshot_held

        thaw_attempts = self.thaw_attempts

        thaw_command: dict[str, Any] | None | Unset
        if isinstance(self.thaw_command, Unset):
            thaw_command = UNSET
        elif isinstance(self.thaw_command, Outcome):
            thaw_command = self.thaw_command.to_dict()
        else:
            thaw_command = self.thaw_command

        thawed_at: None | str | Unset
        if isinstance(self.thawed_at, Unset):
            thawed_at = UNSET
        elif isinstance(self.thawed_at, datetime.datetime):
            thawed_at = self.thawed_at.isoformat()
        else:
            thawed_at = self.thawed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "snapshot_mode": snapshot_mode,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors
        if freeze_command is not UNSET:
            field_dict["freeze_command"] = freeze_command
        if freeze_seconds is not UNSET:
            field_dict["freeze_seconds"] = freeze_seconds
        if freeze_started_at is not UNSET:
            field_dict["freeze_started_at"] = freeze_started_at
        if frozen is not UNSET:
            field_dict["frozen"] = frozen
        if frozen_during_copy is not UNSET:
            field_dict["frozen_during_copy"] = frozen_during_copy
        if read_point_at is not UNSET:
            field_dict["read_point_at"] = read_point_at
        if release_command is not UNSET:
            field_dict["release_command"] = release_command
        if snapshot is not UNSET:
            field_dict["snapshot"] = snapshot
        if snapshot_command is not UNSET:
            field_dict["snapshot_command"] = snapshot_command
        if snapshot_held is not UNSET:
            field_dict["snapshot_held"] = snapshot_held
        if thaw_attempts is not UNSET:
            field_dict["thaw_attempts"] = thaw_attempts
        if thaw_command is not UNSET:
            field_dict["thaw_command"] = thaw_command
        if thawed_at is not UNSET:
            field_dict["thawed_at"] = thawed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.outcome import Outcome  # noqa: PLC0415

        d = dict(src_dict)
        snapshot_mode = SnapshotMode(d.pop("snapshot_mode"))

        errors = cast(list[str], d.pop("errors", UNSET))

        def _parse_freeze_command(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                freeze_command_type_1 = Outcome.from_dict(data)

                return freeze_command_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        freeze_command = _parse_freeze_command(d.pop("freeze_command", UNSET))

        def _parse_freeze_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        freeze_seconds = _parse_freeze_seconds(d.pop("freeze_seconds", UNSET))

        def _parse_freeze_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                freeze_started_at_type_0 = datetime.datetime.fromisoformat(data)

                return freeze_started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        freeze_started_at = _parse_freeze_started_at(d.pop("freeze_started_at", UNSET))

        frozen = d.pop("frozen", UNSET)

        frozen_during_copy = d.pop("frozen_during_copy", UNSET)

        def _parse_read_point_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                read_point_at_type_0 = datetime.datetime.fromisoformat(data)

                return read_point_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        read_point_at = _parse_read_point_at(d.pop("read_point_at", UNSET))

        def _parse_release_command(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                release_command_type_1 = Outcome.from_dict(data)

                return release_command_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        release_command = _parse_release_command(d.pop("release_command", UNSET))

        def _parse_snapshot(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        snapshot = _parse_snapshot(d.pop("snapshot", UNSET))

        def _parse_snapshot_command(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                snapshot_command_type_1 = Outcome.from_dict(data)

                return snapshot_command_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        snapshot_command = _parse_snapshot_command(d.pop("snapshot_command", UNSET))

        snapshot_held = d.pop("snapshot_held", UNSET)

        thaw_attempts = d.pop("thaw_attempts", UNSET)

        def _parse_thaw_command(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                thaw_command_type_1 = Outcome.from_dict(data)

                return thaw_command_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        thaw_command = _parse_thaw_command(d.pop("thaw_command", UNSET))

        def _parse_thawed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                thawed_at_type_0 = datetime.datetime.fromisoformat(data)

                return thawed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        thawed_at = _parse_thawed_at(d.pop("thawed_at", UNSET))

        freeze_record = cls(
            snapshot_mode=snapshot_mode,
            errors=errors,
            freeze_command=freeze_command,
            freeze_seconds=freeze_seconds,
            freeze_started_at=freeze_started_at,
            frozen=frozen,
            frozen_during_copy=frozen_during_copy,
            read_point_at=read_point_at,
            release_command=release_command,
            snapshot=snapshot,
            snapshot_command=snapshot_command,
            snapshot_held=snapshot_held,
            thaw_attempts=thaw_attempts,
            thaw_command=thaw_command,
            thawed_at=thawed_at,
        )

        freeze_record.additional_properties = d
        return freeze_record

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
