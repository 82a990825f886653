from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="FolderTime")


@_attrs_define
class FolderTime:
    """A folder's modification time, kept so a rollback can put it back too.

    Attributes:
        mtime_ns (int):
        mtime_s (int):
        path (str):
    """

    mtime_ns: int
    mtime_s: int
    path: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        mtime_ns = self.mtime_ns

        mtime_s = self.mtime_s

        path = self.path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "mtime_ns": mtime_ns,
                "mtime_s": mtime_s,
                "path": path,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        mtime_ns = d.pop("mtime_ns")

        mtime_s = d.pop("mtime_s")

        path = d.pop("path")

        folder_time = cls(
            mtime_ns=mtime_ns,
            mtime_s=mtime_s,
            path=path,
        )

        folder_time.additional_properties = d
        return folder_time

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
