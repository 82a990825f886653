from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ImportedFolder")


@_attrs_define
class ImportedFolder:
    """A folder registered by import.

    Attributes:
        backup_id (str): The backup ID its `readme.txt` named when it was imported. Example: 20261126T020000Z.
        component (str):  Example: lui.
        folder (str): Absolute path, symbolic links resolved. Example: /mnt/tape/lui/backup.
        imported_at (datetime.datetime):
    """

    backup_id: str
    component: str
    folder: str
    imported_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        backup_id = self.backup_id

        component = self.component

        folder = self.folder

        imported_at = self.imported_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "backup_id": backup_id,
                "component": component,
                "folder": folder,
                "imported_at": imported_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        component = d.pop("component")

        folder = d.pop("folder")

        imported_at = datetime.datetime.fromisoformat(d.pop("imported_at"))

        imported_folder = cls(
            backup_id=backup_id,
            component=component,
            folder=folder,
            imported_at=imported_at,
        )

        return imported_folder
