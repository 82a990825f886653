from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.schedule_outcome_type_2_kind import ScheduleOutcomeType2Kind

T = TypeVar("T", bound="ScheduleOutcomeType2")


@_attrs_define
class ScheduleOutcomeType2:
    """Not started: the instant passed while the server was down or the machine suspended,
    and `catch_up` is off.

        Attributes:
            kind (ScheduleOutcomeType2Kind):
            reason (str):
    """

    kind: ScheduleOutcomeType2Kind
    reason: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = ScheduleOutcomeType2Kind(d.pop("kind"))

        reason = d.pop("reason")

        schedule_outcome_type_2 = cls(
            kind=kind,
            reason=reason,
        )

        schedule_outcome_type_2.additional_properties = d
        return schedule_outcome_type_2

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
