from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="FolderCheck")


@_attrs_define
class FolderCheck:
    """The result of checking one backup folder against its `SHA256SUMS`.

    Attributes:
        component (str):
        folder (str):
        ok (bool):
        problems (list[str]): Mismatching, missing and unlisted files (empty when ok).
    """

    component: str
    folder: str
    ok: bool
    problems: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        component = self.component

        folder = self.folder

        ok = self.ok

        problems = self.problems

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "folder": folder,
                "ok": ok,
                "problems": problems,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        component = d.pop("component")

        folder = d.pop("folder")

        ok = d.pop("ok")

        problems = cast(list[str], d.pop("problems"))

        folder_check = cls(
            component=component,
            folder=folder,
            ok=ok,
            problems=problems,
        )

        folder_check.additional_properties = d
        return folder_check

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
