from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.drill_event_type_2_type import DrillEventType2Type
from ..models.drill_status import DrillStatus

T = TypeVar("T", bound="DrillEventType2")


@_attrs_define
class DrillEventType2:
    """The drill ended; the last event.

    Attributes:
        status (DrillStatus): A drill's state: `running`, then `passed`, `failed`, `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.
        type_ (DrillEventType2Type):
    """

    status: DrillStatus
    type_: DrillEventType2Type
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
        status = DrillStatus(d.pop("status"))

        type_ = DrillEventType2Type(d.pop("type"))

        drill_event_type_2 = cls(
            status=status,
            type_=type_,
        )

        drill_event_type_2.additional_properties = d
        return drill_event_type_2

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
