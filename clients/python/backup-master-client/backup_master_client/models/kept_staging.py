from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="KeptStaging")


@_attrs_define
class KeptStaging:
    """A staging folder recovery (or a failed commit) could not turn into the component's `backup`
    slot: kept until an operator discards it.

        Attributes:
            component (str): Component name.
            folder (str): The component's backup folder (slot 0) the staging folder belongs to.
            path (str): The staging folder, `<NAME>.staging-<ID>` beside the backup folder. Example:
                /srv/lui/backup.staging-20261126T020000Z.
    """

    component: str
    folder: str
    path: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        component = self.component

        folder = self.folder

        path = self.path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "folder": folder,
                "path": path,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        component = d.pop("component")

        folder = d.pop("folder")

        path = d.pop("path")

        kept_staging = cls(
            component=component,
            folder=folder,
            path=path,
        )

        kept_staging.additional_properties = d
        return kept_staging

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
