from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.schedule_outcome_type_0_kind import ScheduleOutcomeType0Kind

T = TypeVar("T", bound="ScheduleOutcomeType0")


@_attrs_define
class ScheduleOutcomeType0:
    """A backup was started.

    Attributes:
        backup_id (str):
        kind (ScheduleOutcomeType0Kind):
    """

    backup_id: str
    kind: ScheduleOutcomeType0Kind
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backup_id = self.backup_id

        kind = self.kind.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backup_id": backup_id,
                "kind": kind,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        kind = ScheduleOutcomeType0Kind(d.pop("kind"))

        schedule_outcome_type_0 = cls(
            backup_id=backup_id,
            kind=kind,
        )

        schedule_outcome_type_0.additional_properties = d
        return schedule_outcome_type_0

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
