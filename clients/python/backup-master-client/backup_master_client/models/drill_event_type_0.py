from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.drill_event_type_0_type import DrillEventType0Type

if TYPE_CHECKING:
    from ..models.component_drill import ComponentDrill


T = TypeVar("T", bound="DrillEventType0")


@_attrs_define
class DrillEventType0:
    """A component's state changed (its whole result so far).

    Attributes:
        component (ComponentDrill): What a drill found for one component.
        type_ (DrillEventType0Type):
    """

    component: ComponentDrill
    type_: DrillEventType0Type
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        component = self.component.to_dict()

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component_drill import ComponentDrill  # noqa: PLC0415

        d = dict(src_dict)
        component = ComponentDrill.from_dict(d.pop("component"))

        type_ = DrillEventType0Type(d.pop("type"))

        drill_event_type_0 = cls(
            component=component,
            type_=type_,
        )

        drill_event_type_0.additional_properties = d
        return drill_event_type_0

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
