from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RemoteSet")


@_attrs_define
class RemoteSet:
    """A set on a target's bucket: its manifest exists.

    Attributes:
        backup_id (str):  Example: 20261126T020000Z.
        manifest_bytes (int):
        manifest_key (str):  Example: sets/20261126T020000Z.json.
        encrypted (bool | Unset): The set was written by a target that encrypts (`sets/<id>.json.age`): restoring it
            needs the target's key.
    """

    backup_id: str
    manifest_bytes: int
    manifest_key: str
    encrypted: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backup_id = self.backup_id

        manifest_bytes = self.manifest_bytes

        manifest_key = self.manifest_key

        encrypted = self.encrypted

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backup_id": backup_id,
                "manifest_bytes": manifest_bytes,
                "manifest_key": manifest_key,
            }
        )
        if encrypted is not UNSET:
            field_dict["encrypted"] = encrypted

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        manifest_bytes = d.pop("manifest_bytes")

        manifest_key = d.pop("manifest_key")

        encrypted = d.pop("encrypted", UNSET)

        remote_set = cls(
            backup_id=backup_id,
            manifest_bytes=manifest_bytes,
            manifest_key=manifest_key,
            encrypted=encrypted,
        )

        remote_set.additional_properties = d
        return remote_set

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
