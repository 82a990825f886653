from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ComponentView")


@_attrs_define
class ComponentView:
    """A component as the API shows it.

    Attributes:
        backup_folder (str): The backup folder as configured: absolute, or relative to the home. Example: backup.
        items (list[str]): What a backup holds, relative to the home.
        keep (int): Previous backups kept: `backup1` .. `backup<keep>`. Example: 3.
        location (str): `local` (a home on this machine) or `remote` (served by an agent). Example: local.
        name (str):  Example: lui.
        profile (str): `maestro-hub`, `maestro-lui`, `maestro-tracker` or `custom`. Example: maestro-lui.
        backup_path (None | str | Unset): The backup folder resolved to an absolute path (local components).
        home (None | str | Unset): The home folder, resolved (local components).
    """

    backup_folder: str
    items: list[str]
    keep: int
    location: str
    name: str
    profile: str
    backup_path: None | str | Unset = UNSET
    home: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backup_folder = self.backup_folder

        items = self.items

        keep = self.keep

        location = self.location

        name = self.name

        profile = self.profile

        backup_path: None | str | Unset
        if isinstance(self.backup_path, Unset):
            backup_path = UNSET
        else:
            backup_path = self.backup_path

        home: None | str | Unset
        if isinstance(self.home, Unset):
            home = UNSET
        else:
            home = self.home

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backup_folder": backup_folder,
                "items": items,
                "keep": keep,
                "location": location,
                "name": name,
                "profile": profile,
            }
        )
        if backup_path is not UNSET:
            field_dict["backup_path"] = backup_path
        if home is not UNSET:
            field_dict["home"] = home

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_folder = d.pop("backup_folder")

        items = cast(list[str], d.pop("items"))

        keep = d.pop("keep")

        location = d.pop("location")

        name = d.pop("name")

        profile = d.pop("profile")

        def _parse_backup_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        backup_path = _parse_backup_path(d.pop("backup_path", UNSET))

        def _parse_home(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        home = _parse_home(d.pop("home", UNSET))

        component_view = cls(
            backup_folder=backup_folder,
            items=items,
            keep=keep,
            location=location,
            name=name,
            profile=profile,
            backup_path=backup_path,
            home=home,
        )

        component_view.additional_properties = d
        return component_view

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
