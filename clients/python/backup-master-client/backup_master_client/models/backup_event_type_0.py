from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.backup_event_type_0_type import BackupEventType0Type
from ..models.component_status import ComponentStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="BackupEventType0")


@_attrs_define
class BackupEventType0:
    """A component's progress or status changed.

    Attributes:
        bytes_copied (int):
        bytes_linked (int):
        files (int): Files in the backup (0 until listed).
        files_copied (int):
        files_linked (int):
        name (str): Component name.
        status (ComponentStatus): One component's state within a backup.
        type_ (BackupEventType0Type):
        bytes_cloned (int | Unset): Absent when no file was cloned.
        files_cloned (int | Unset): Absent when no file was cloned.
    """

    bytes_copied: int
    bytes_linked: int
    files: int
    files_copied: int
    files_linked: int
    name: str
    status: ComponentStatus
    type_: BackupEventType0Type
    bytes_cloned: int | Unset = UNSET
    files_cloned: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_copied = self.bytes_copied

        bytes_linked = self.bytes_linked

        files = self.files

        files_copied = self.files_copied

        files_linked = self.files_linked

        name = self.name

        status = self.status.value

        type_ = self.type_.value

        bytes_cloned = self.bytes_cloned

        files_cloned = self.files_cloned

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes_copied": bytes_copied,
                "bytes_linked": bytes_linked,
                "files": files,
                "files_copied": files_copied,
                "files_linked": files_linked,
                "name": name,
                "status": status,
                "type": type_,
            }
        )
        if bytes_cloned is not UNSET:
            field_dict["bytes_cloned"] = bytes_cloned
        if files_cloned is not UNSET:
            field_dict["files_cloned"] = files_cloned

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bytes_copied = d.pop("bytes_copied")

        bytes_linked = d.pop("bytes_linked")

        files = d.pop("files")

        files_copied = d.pop("files_copied")

        files_linked = d.pop("files_linked")

        name = d.pop("name")

        status = ComponentStatus(d.pop("status"))

        type_ = BackupEventType0Type(d.pop("type"))

        bytes_cloned = d.pop("bytes_cloned", UNSET)

        files_cloned = d.pop("files_cloned", UNSET)

        backup_event_type_0 = cls(
            bytes_copied=bytes_copied,
            bytes_linked=bytes_linked,
            files=files,
            files_copied=files_copied,
            files_linked=files_linked,
            name=name,
            status=status,
            type_=type_,
            bytes_cloned=bytes_cloned,
            files_cloned=files_cloned,
        )

        backup_event_type_0.additional_properties = d
        return backup_event_type_0

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
