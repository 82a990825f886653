from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hook_output_message_type_0_event import HookOutputMessageType0Event

T = TypeVar("T", bound="HookOutputMessageType0")


@_attrs_define
class HookOutputMessageType0:
    """An output line

    Attributes:
        data (str): JSON: a OutputLine
        event (HookOutputMessageType0Event):
        id (str): The line number, for `Last-Event-ID`
    """

    data: str
    event: HookOutputMessageType0Event
    id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data

        event = self.event.value

        id = self.id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "event": event,
                "id": id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = d.pop("data")

        event = HookOutputMessageType0Event(d.pop("event"))

        id = d.pop("id")

        hook_output_message_type_0 = cls(
            data=data,
            event=event,
            id=id,
        )

        hook_output_message_type_0.additional_properties = d
        return hook_output_message_type_0

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
