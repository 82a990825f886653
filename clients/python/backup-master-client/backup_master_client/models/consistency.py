from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.on_change import OnChange
from ..models.snapshot_mode import SnapshotMode

T = TypeVar("T", bound="Consistency")


@_attrs_define
class Consistency:
    """A component's consistency settings: the commands that freeze and thaw it, its read point,
    and what a file changing while it is copied does. The keys of the config file and of the
    API are the same. Commands are split into arguments like the hooks' commands (no shell
    unless the command names one); empty means none.

        Attributes:
            freeze_command (str): Command that makes the component's files consistent and keeps them so until the thaw;
                empty: none. Example: /opt/maestro/bin/lui-ctl freeze.
            freeze_timeout_seconds (int): Seconds after which the freeze (and each thaw or snapshot command) is killed, 1 to
                3600. Example: 60.
            on_change (OnChange): What a file that still changes after the copy's retries does to a backup (`on_change`).
            snapshot (SnapshotMode): Where a component's copy reads from (`snapshot`).
            snapshot_command (str): With `snapshot = "command"`: prints the path of a read-only view of the home on its last
                line; empty otherwise.
            snapshot_release_command (str): With `snapshot = "command"`: releases that view; empty otherwise.
            thaw_command (str): Command that lets the component write again; empty: none. Needs a `freeze_command`. Example:
                /opt/maestro/bin/lui-ctl thaw.
    """

    freeze_command: str
    freeze_timeout_seconds: int
    on_change: OnChange
    snapshot: SnapshotMode
    snapshot_command: str
    snapshot_release_command: str
    thaw_command: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        freeze_command = self.freeze_command

        freeze_timeout_seconds = self.freeze_timeout_seconds

        on_change = self.on_change.value

        snapshot = self.snapshot.value

        snapshot_command = self.snapshot_command

        snapshot_release_command = self.snapshot_release_command

        thaw_command = self.thaw_command

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "freeze_command": freeze_command,
                "freeze_timeout_seconds": freeze_timeout_seconds,
                "on_change": on_change,
                "snapshot": snapshot,
                "snapshot_command": snapshot_command,
                "snapshot_release_command": snapshot_release_command,
                "thaw_command": thaw_command,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        freeze_command = d.pop("freeze_command")

        freeze_timeout_seconds = d.pop("freeze_timeout_seconds")

        on_change = OnChange(d.pop("on_change"))

        snapshot = SnapshotMode(d.pop("snapshot"))

        snapshot_command = d.pop("snapshot_command")

        snapshot_release_command = d.pop("snapshot_release_command")

        thaw_command = d.pop("thaw_command")

        consistency = cls(
            freeze_command=freeze_command,
            freeze_timeout_seconds=freeze_timeout_seconds,
            on_change=on_change,
            snapshot=snapshot,
            snapshot_command=snapshot_command,
            snapshot_release_command=snapshot_release_command,
            thaw_command=thaw_command,
        )

        consistency.additional_properties = d
        return consistency

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
