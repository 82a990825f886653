from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hook_output_message_type_1_event import HookOutputMessageType1Event

T = TypeVar("T", bound="HookOutputMessageType1")


@_attrs_define
class HookOutputMessageType1:
    """How the process ended; the last event

    Attributes:
        data (str): JSON: a OutputExit
        event (HookOutputMessageType1Event):
    """

    data: str
    event: HookOutputMessageType1Event
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

        event = HookOutputMessageType1Event(d.pop("event"))

        hook_output_message_type_1 = cls(
            data=data,
            event=event,
        )

        hook_output_message_type_1.additional_properties = d
        return hook_output_message_type_1

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
