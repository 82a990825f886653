from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ImportRequest")


@_attrs_define
class ImportRequest:
    """A folder retrieved from an external medium, to be registered as part of its backup set.

    Attributes:
        component (str): A configured component; the folder's `readme.txt` must name it. Example: lui.
        folder (str): Absolute path of the folder (no `..`), holding `readme.txt`. Example: /mnt/tape/lui/backup.
    """

    component: str
    folder: str

    def to_dict(self) -> dict[str, Any]:
        component = self.component

        folder = self.folder

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "component": component,
                "folder": folder,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        component = d.pop("component")

        folder = d.pop("folder")

        import_request = cls(
            component=component,
            folder=folder,
        )

        return import_request
