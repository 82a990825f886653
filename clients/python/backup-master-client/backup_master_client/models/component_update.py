from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ComponentUpdate")


@_attrs_define
class ComponentUpdate:
    """`PUT /components/{name}`.

    Attributes:
        backup_folder (str): Absolute, or relative to the home; no `..`. Example: backup.
        keep (int): 0 to 100. Example: 3.
        items (list[str] | None | Unset): The items of a `custom` component; refused for the built-in profiles.
    """

    backup_folder: str
    keep: int
    items: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        backup_folder = self.backup_folder

        keep = self.keep

        items: list[str] | None | Unset
        if isinstance(self.items, Unset):
            items = UNSET
        elif isinstance(self.items, list):
            items = self.items

        else:
            items = self.items

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "backup_folder": backup_folder,
                "keep": keep,
            }
        )
        if items is not UNSET:
            field_dict["items"] = items

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_folder = d.pop("backup_folder")

        keep = d.pop("keep")

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

        component_update = cls(
            backup_folder=backup_folder,
            keep=keep,
            items=items,
        )

        return component_update
