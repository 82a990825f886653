from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dst_adjustment import DstAdjustment
from ..types import UNSET, Unset

T = TypeVar("T", bound="NextRun")


@_attrs_define
class NextRun:
    """One upcoming run, as `GET /api/v1/settings` shows it in `next_runs`.

    Attributes:
        local (datetime.datetime): The same instant in the schedule's zone: RFC 3339 with that zone's UTC offset at that
            instant (no `[Zone]` suffix, so every RFC 3339 parser reads it; the zone is in
            `time_zone`). Example: 2026-03-29T03:00:00+02:00.
        time_zone (str): IANA name of the schedule's zone, or `local` for an unnamed machine zone. Example:
            Europe/Berlin.
        utc (datetime.datetime): The run instant in UTC, RFC 3339 with `Z`. Example: 2026-03-29T01:00:00Z.
        dst_adjustment (DstAdjustment | None | Unset):
    """

    local: datetime.datetime
    time_zone: str
    utc: datetime.datetime
    dst_adjustment: DstAdjustment | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        local = self.local.isoformat()

        time_zone = self.time_zone

        utc = self.utc.isoformat()

        dst_adjustment: None | str | Unset
        if isinstance(self.dst_adjustment, Unset):
            dst_adjustment = UNSET
        elif isinstance(self.dst_adjustment, DstAdjustment):
            dst_adjustment = self.dst_adjustment.value
        else:
            dst_adjustment = self.dst_adjustment

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "local": local,
                "time_zone": time_zone,
                "utc": utc,
            }
        )
        if dst_adjustment is not UNSET:
            field_dict["dst_adjustment"] = dst_adjustment

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        local = datetime.datetime.fromisoformat(d.pop("local"))

        time_zone = d.pop("time_zone")

        utc = datetime.datetime.fromisoformat(d.pop("utc"))

        def _parse_dst_adjustment(data: object) -> DstAdjustment | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                dst_adjustment_type_1 = DstAdjustment(data)

                return dst_adjustment_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DstAdjustment | None | Unset, data)

        dst_adjustment = _parse_dst_adjustment(d.pop("dst_adjustment", UNSET))

        next_run = cls(
            local=local,
            time_zone=time_zone,
            utc=utc,
            dst_adjustment=dst_adjustment,
        )

        next_run.additional_properties = d
        return next_run

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
