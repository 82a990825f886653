from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.drill_event_type_1_type import DrillEventType1Type

T = TypeVar("T", bound="DrillEventType1")


@_attrs_define
class DrillEventType1:
    """One line of a probe's output.

    Attributes:
        component (str):  Example: lui.
        line (str):  Example: RestoreFromBackup line found.
        type_ (DrillEventType1Type):
    """

    component: str
    line: str
    type_: DrillEventType1Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        component = self.component

        line = self.line

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "line": line,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        component = d.pop("component")

        line = d.pop("line")

        type_ = DrillEventType1Type(d.pop("type"))

        drill_event_type_1 = cls(
            component=component,
            line=line,
            type_=type_,
        )

        drill_event_type_1.additional_properties = d
        return drill_event_type_1

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
