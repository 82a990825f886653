from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.backup_event_type_1_type import BackupEventType1Type
from ..models.backup_status import BackupStatus

T = TypeVar("T", bound="BackupEventType1")


@_attrs_define
class BackupEventType1:
    """The backup ended with this final status; the last event.

    Attributes:
        status (BackupStatus): The state of a backup. Every state but `running` is final.
        type_ (BackupEventType1Type):
    """

    status: BackupStatus
    type_: BackupEventType1Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = BackupStatus(d.pop("status"))

        type_ = BackupEventType1Type(d.pop("type"))

        backup_event_type_1 = cls(
            status=status,
            type_=type_,
        )

        backup_event_type_1.additional_properties = d
        return backup_event_type_1

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
