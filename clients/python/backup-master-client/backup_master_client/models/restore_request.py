from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.restore_request_source_folders_type_0 import RestoreRequestSourceFoldersType0


T = TypeVar("T", bound="RestoreRequest")


@_attrs_define
class RestoreRequest:
    """The body of `POST /restores`.

    Attributes:
        backup_id (str): The backup set to restore. Example: 20261126T020000Z.
        components (list[str] | None | Unset): The components to restore; default: every configured component. A set
            that is
            incomplete or failed for other components can still be restored for these. Example: ['hub', 'lui'].
        dry_run (bool | Unset): Only make the plan and verify; change nothing.
        from_target (None | str | Unset): A replication target to take the set from (for a set no longer on this
            machine's
            disks): the set is downloaded from its bucket into the state dir, every hash checked,
            then restored like `source_folders`. Not with `source_folders`. Example: offsite.
        source_folders (None | RestoreRequestSourceFoldersType0 | Unset): Folders retrieved from an external medium, per
            component: used instead of the slots.
            Each must be an absolute path whose `readme.txt` names the component and `backup_id`. Example: {'trk':
            '/mnt/tape/trk/backup'}.
    """

    backup_id: str
    components: list[str] | None | Unset = UNSET
    dry_run: bool | Unset = UNSET
    from_target: None | str | Unset = UNSET
    source_folders: None | RestoreRequestSourceFoldersType0 | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.restore_request_source_folders_type_0 import RestoreRequestSourceFoldersType0  # noqa: PLC0415

        backup_id = self.backup_id

        components: list[str] | None | Unset
        if isinstance(self.components, Unset):
            components = UNSET
        elif isinstance(self.components, list):
            components = self.components

        else:
            components = self.components

        dry_run = self.dry_run

        from_target: None | str | Unset
        if isinstance(self.from_target, Unset):
            from_target = UNSET
        else:
            from_target = self.from_target

        source_folders: dict[str, Any] | None | Unset
        if isinstance(self.source_folders, Unset):
            source_folders = UNSET
        elif isinstance(self.source_folders, RestoreRequestSourceFoldersType0):
            source_folders = self.source_folders.to_dict()
        else:
            source_folders = self.source_folders

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "backup_id": backup_id,
            }
        )
        if components is not UNSET:
            field_dict["components"] = components
        if dry_run is not UNSET:
            field_dict["dry_run"] = dry_run
        if from_target is not UNSET:
            field_dict["from_target"] = from_target
        if source_folders is not UNSET:
            field_dict["source_folders"] = source_folders

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.restore_request_source_folders_type_0 import RestoreRequestSourceFoldersType0  # noqa: PLC0415

        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        def _parse_components(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                components_type_0 = cast(list[str], data)

                return components_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        components = _parse_components(d.pop("components", UNSET))

        dry_run = d.pop("dry_run", UNSET)

        def _parse_from_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        from_target = _parse_from_target(d.pop("from_target", UNSET))

        def _parse_source_folders(data: object) -> None | RestoreRequestSourceFoldersType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                source_folders_type_0 = RestoreRequestSourceFoldersType0.from_dict(data)

                return source_folders_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RestoreRequestSourceFoldersType0 | Unset, data)

        source_folders = _parse_source_folders(d.pop("source_folders", UNSET))

        restore_request = cls(
            backup_id=backup_id,
            components=components,
            dry_run=dry_run,
            from_target=from_target,
            source_folders=source_folders,
        )

        return restore_request
