from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.entry_kind import EntryKind

T = TypeVar("T", bound="OwnedEntry")


@_attrs_define
class OwnedEntry:
    """A file-system entry as this restore found or made it: its path and its identity (device and
    inode, which a rename keeps). What a rollback or a cleanup may touch is checked against it
    right before the step.

        Attributes:
            dev (int):
            ino (int):
            kind (EntryKind): What a path in a backup folder is.
            path (str):  Example: /srv/lui/luidata.
    """

    dev: int
    ino: int
    kind: EntryKind
    path: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dev = self.dev

        ino = self.ino

        kind = self.kind.value

        path = self.path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dev": dev,
                "ino": ino,
                "kind": kind,
                "path": path,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        dev = d.pop("dev")

        ino = d.pop("ino")

        kind = EntryKind(d.pop("kind"))

        path = d.pop("path")

        owned_entry = cls(
            dev=dev,
            ino=ino,
            kind=kind,
            path=path,
        )

        owned_entry.additional_properties = d
        return owned_entry

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
