from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.drill_event_message_event import DrillEventMessageEvent

T = TypeVar("T", bound="DrillEventMessage")


@_attrs_define
class DrillEventMessage:
    """A server-sent event: `event: component`, `probe_output` or `end`, `data:` a DrillEvent

    Attributes:
        data (str): JSON: a DrillEvent
        event (DrillEventMessageEvent):
    """

    data: str
    event: DrillEventMessageEvent
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data

        event = self.event.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "event": event,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = d.pop("data")

        event = DrillEventMessageEvent(d.pop("event"))

        drill_event_message = cls(
            data=data,
            event=event,
        )

        drill_event_message.additional_properties = d
        return drill_event_message

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
