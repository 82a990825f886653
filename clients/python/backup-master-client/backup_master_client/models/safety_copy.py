from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SafetyCopy")


@_attrs_define
class SafetyCopy:
    """A safety folder kept after its restore succeeded.

    Attributes:
        bytes_ (int): Bytes of the regular files it holds (as large as what the restore replaced); for a
            remote component, as its agent reported them at the commit.
        kept_at (datetime.datetime):
        discarded_at (datetime.datetime | None | Unset): When it was discarded (a later restore of the component
            succeeded, or `DELETE
            /restores/{id}/safety-copy`); absent while it is kept.
        discarded_because (None | str | Unset): Why it was discarded.
    """

    bytes_: int
    kept_at: datetime.datetime
    discarded_at: datetime.datetime | None | Unset = UNSET
    discarded_because: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_ = self.bytes_

        kept_at = self.kept_at.isoformat()

        discarded_at: None | str | Unset
        if isinstance(self.discarded_at, Unset):
            discarded_at = UNSET
        elif isinstance(self.discarded_at, datetime.datetime):
            discarded_at = self.discarded_at.isoformat()
        else:
            discarded_at = self.discarded_at

        discarded_because: None | str | Unset
        if isinstance(self.discarded_because, Unset):
            discarded_because = UNSET
        else:
            discarded_because = self.discarded_because

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "kept_at": kept_at,
            }
        )
        if discarded_at is not UNSET:
            field_dict["discarded_at"] = discarded_at
        if discarded_because is not UNSET:
            field_dict["discarded_because"] = discarded_because

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        kept_at = datetime.datetime.fromisoformat(d.pop("kept_at"))

        def _parse_discarded_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                discarded_at_type_0 = datetime.datetime.fromisoformat(data)

                return discarded_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        discarded_at = _parse_discarded_at(d.pop("discarded_at", UNSET))

        def _parse_discarded_because(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        discarded_because = _parse_discarded_because(d.pop("discarded_because", UNSET))

        safety_copy = cls(
            bytes_=bytes_,
            kept_at=kept_at,
            discarded_at=discarded_at,
            discarded_because=discarded_because,
        )

        safety_copy.additional_properties = d
        return safety_copy

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
