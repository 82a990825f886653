from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.on_change import OnChange
from ..models.snapshot_mode import SnapshotMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="ComponentUpdate")


@_attrs_define
class ComponentUpdate:
    """`PUT /components/{name}`. The consistency fields (`freeze_command` .. `snapshot_release_command`)
    are optional: absent keeps the current value, so a client that does not know them changes
    none of them; an empty command removes it.

        Attributes:
            backup_folder (str): Absolute, or relative to the home; no `..`. Example: backup.
            keep (int): 0 to 100. Example: 3.
            drill_probe_command (None | str | Unset): Command a restore drill runs against the restored copy; empty removes
                it. Absent:
                unchanged. Example: /opt/maestro/bin/lui-check.
            drill_root (None | str | Unset): Where restore drills put this component's scratch copies: absolute, or relative
                to the
                home; never a home, an item, a backup area or the state folder, nor inside them. Empty:
                back to the default (`drills` beside the backup folder). Absent: unchanged. Example: /srv/drills.
            freeze_command (None | str | Unset): Freeze command (split into arguments, no shell unless it names one).
                Example: /opt/maestro/bin/lui-ctl freeze.
            freeze_timeout_seconds (int | None | Unset): 1 to 3600. Example: 60.
            health_command (None | str | Unset): Exits 0 when it is healthy; retried until `start_timeout_seconds`. Example:
                /opt/maestro/bin/lui-ctl status.
            items (list[str] | None | Unset): The items of a `custom` component; refused for the built-in profiles.
            on_change (None | OnChange | Unset):
            rollback_on_unhealthy (bool | None | Unset): Undo a restore at once when a component does not become healthy
                after it.
            snapshot (None | SnapshotMode | Unset):
            snapshot_command (None | str | Unset): Required with `snapshot = "command"`, refused otherwise.
            snapshot_release_command (None | str | Unset): Required with `snapshot = "command"`, refused otherwise.
            start_command (None | str | Unset): Starts it once the restored files are in place. Example:
                /opt/maestro/bin/lui-ctl start.
            start_timeout_seconds (int | None | Unset): 1 to 3600. Example: 120.
            stop_command (None | str | Unset): Stops the component before a restore changes its home (a remote component's
                agent runs
                it, with `run_commands = true`). Example: /opt/maestro/bin/lui-ctl stop.
            thaw_command (None | str | Unset): Thaw command; needs a freeze command. Example: /opt/maestro/bin/lui-ctl thaw.
    """

    backup_folder: str
    keep: int
    drill_probe_command: None | str | Unset = UNSET
    drill_root: None | str | Unset = UNSET
    freeze_command: None | str | Unset = UNSET
    freeze_timeout_seconds: int | None | Unset = UNSET
    health_command: None | str | Unset = UNSET
    items: list[str] | None | Unset = UNSET
    on_change: None | OnChange | Unset = UNSET
    rollback_on_unhealthy: bool | None | Unset = UNSET
    snapshot: None | SnapshotMode | Unset = UNSET
    snapshot_command: None | str | Unset = UNSET
    snapshot_release_command: None | str | Unset = UNSET
    start_command: None | str | Unset = UNSET
    start_timeout_seconds: int | None | Unset = UNSET
    stop_command: None | str | Unset = UNSET
    thaw_command: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        backup_folder = self.backup_folder

        keep = self.keep

        drill_probe_command: None | str | Unset
        if isinstance(self.drill_probe_command, Unset):
            drill_probe_command = UNSET
        else:
            drill_probe_command = self.drill_probe_command

        drill_root: None | str | Unset
        if isinstance(self.drill_root, Unset):
            drill_root = UNSET
        else:
            drill_root = self.drill_root

        freeze_command: None | str | Unset
        if isinstance(self.freeze_command, Unset):
            freeze_command = UNSET
        else:
            freeze_command = self.freeze_command

        freeze_timeout_seconds: int | None | Unset
        if isinstance(self.freeze_timeout_seconds, Unset):
            freeze_timeout_seconds = UNSET
        else:
            freeze_timeout_seconds = self.freeze_timeout_seconds

        health_command: None | str | Unset
        if isinstance(self.health_command, Unset):
            health_command = UNSET
        else:
            health_command = self.health_command

        items: list[str] | None | Unset
        if isinstance(self.items, Unset):
            items = UNSET
        elif isinstance(self.items, list):
            items = self.items

        else:
            items = self.items

        on_change: None | str | Unset
        if isinstance(self.on_change, Unset):
            on_change = UNSET
        elif isinstance(self.on_change, OnChange):
            on_change = self.on_change.value
        else:
            on_change = self.on_change

        rollback_on_unhealthy: bool | None | Unset
        if isinstance(self.rollback_on_unhealthy, Unset):
            rollback_on_unhealthy = UNSET
        else:
            rollback_on_unhealthy = self.rollback_on_unhealthy

        snapshot: None | str | Unset
        if isinstance(self.snapshot, Unset):
            snapshot = UNSET
        elif isinstance(self.snapshot, SnapshotMode):
            snapshot = self.snapshot.value
        else:
            snapshot = self.snapshot

        snapshot_command: None | str | Unset
        if isinstance(self.snapshot_command, Unset):
            snapshot_command = UNSET
        else:
            snapshot_command = self.snapshot_command

        snapshot_release_command: None | str | Unset
        if isinstance(self.snapshot_release_command, Unset):
            snapshot_release_command = UNSET
        else:
            snapshot_release_command = self.snapshot_release_command

        start_command: None | str | Unset
        if isinstance(self.start_command, Unset):
            start_command = UNSET
        else:
            start_command = self.start_command

        start_timeout_seconds: int | None | Unset
        if isinstance(self.start_timeout_seconds, Unset):
            start_timeout_seconds = UNSET
        else:
            start_timeout_seconds = self.start_timeout_seconds

        stop_command: None | str | Unset
        if isinstance(self.stop_command, Unset):
            stop_command = UNSET
        else:
            stop_command = self.stop_command

        thaw_command: None | str | Unset
        if isinstance(self.thaw_command, Unset):
            thaw_command = UNSET
        else:
            thaw_command = self.thaw_command

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "backup_folder": backup_folder,
                "keep": keep,
            }
        )
        if drill_probe_command is not UNSET:
            field_dict["drill_probe_command"] = drill_probe_command
        if drill_root is not UNSET:
            field_dict["drill_root"] = drill_root
        if freeze_command is not UNSET:
            field_dict["freeze_command"] = freeze_command
        if freeze_timeout_seconds is not UNSET:
            field_dict["freeze_timeout_seconds"] = freeze_timeout_seconds
        if health_command is not UNSET:
            field_dict["health_command"] = health_command
        if items is not UNSET:
            field_dict["items"] = items
        if on_change is not UNSET:
            field_dict["on_change"] = on_change
        if rollback_on_unhealthy is not UNSET:
            field_dict["rollback_on_unhealthy"] = rollback_on_unhealthy
        if snapshot is not UNSET:
            field_dict["snapshot"] = snapshot
        if snapshot_command is not UNSET:
            field_dict["snapshot_command"] = snapshot_command
        if snapshot_release_command is not UNSET:
            field_dict["snapshot_release_command"] = snapshot_release_command
        if start_command is not UNSET:
            field_dict["start_command"] = start_command
        if start_timeout_seconds is not UNSET:
            field_dict["start_timeout_seconds"] = start_timeout_seconds
        if stop_command is not UNSET:
            field_dict["stop_command"] = stop_command
        if thaw_command is not UNSET:
            field_dict["thaw_command"] = thaw_command

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_folder = d.pop("backup_folder")

        keep = d.pop("keep")

        def _parse_drill_probe_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        drill_probe_command = _parse_drill_probe_command(d.pop("drill_probe_command", UNSET))

        def _parse_drill_root(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        drill_root = _parse_drill_root(d.pop("drill_root", UNSET))

        def _parse_freeze_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        freeze_command = _parse_freeze_command(d.pop("freeze_command", UNSET))

        def _parse_freeze_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        freeze_timeout_seconds = _parse_freeze_timeout_seconds(d.pop("freeze_timeout_seconds", UNSET))

        def _parse_health_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        health_command = _parse_health_command(d.pop("health_command", UNSET))

        def _parse_items(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                items_type_0 = cast(list[str], data)

                return items_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        items = _parse_items(d.pop("items", UNSET))

        def _parse_on_change(data: object) -> None | OnChange | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                on_change_type_1 = OnChange(data)

                return on_change_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OnChange | Unset, data)

        on_change = _parse_on_change(d.pop("on_change", UNSET))

        def _parse_rollback_on_unhealthy(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        rollback_on_unhealthy = _parse_rollback_on_unhealthy(d.pop("rollback_on_unhealthy", UNSET))

        def _parse_snapshot(data: object) -> None | SnapshotMode | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                snapshot_type_1 = SnapshotMode(data)

                return snapshot_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SnapshotMode | Unset, data)

        snapshot = _parse_snapshot(d.pop("snapshot", UNSET))

        def _parse_snapshot_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        snapshot_command = _parse_snapshot_command(d.pop("snapshot_command", UNSET))

        def _parse_snapshot_release_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        snapshot_release_command = _parse_snapshot_release_command(d.pop("snapshot_release_command", UNSET))

        def _parse_start_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        start_command = _parse_start_command(d.pop("start_command", UNSET))

        def _parse_start_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        start_timeout_seconds = _parse_start_timeout_seconds(d.pop("start_timeout_seconds", UNSET))

        def _parse_stop_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stop_command = _parse_stop_command(d.pop("stop_command", UNSET))

        def _parse_thaw_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        thaw_command = _parse_thaw_command(d.pop("thaw_command", UNSET))

        component_update = cls(
            backup_folder=backup_folder,
            keep=keep,
            drill_probe_command=drill_probe_command,
            drill_root=drill_root,
            freeze_command=freeze_command,
            freeze_timeout_seconds=freeze_timeout_seconds,
            health_command=health_command,
            items=items,
            on_change=on_change,
            rollback_on_unhealthy=rollback_on_unhealthy,
            snapshot=snapshot,
            snapshot_command=snapshot_command,
            snapshot_release_command=snapshot_release_command,
            start_command=start_command,
            start_timeout_seconds=start_timeout_seconds,
            stop_command=stop_command,
            thaw_command=thaw_command,
        )

        return component_update
