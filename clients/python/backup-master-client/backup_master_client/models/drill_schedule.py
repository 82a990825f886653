from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DrillSchedule")


@_attrs_define
class DrillSchedule:
    """The `[drill]` table: when restore drills run by themselves. `weekday` and `every_days` are
    exclusive; neither set: no scheduled drill. The time is in the schedule's time zone.

        Attributes:
            every_days (int | Unset): A drill every this many days (1 to 366) at `time`, counted from the last drill's day;
                0: none. Default: 0. Example: 0.
            time (str | Unset): Local time of the drill, exactly `hh:mm`. Default: '04:00'. Example: 04:30.
            weekday (str | Unset): `monday` .. `sunday` (or `mon` .. `sun`): a drill every week on that day; empty: none.
                Default: ''. Example: sunday.
    """

    every_days: int | Unset = 0
    time: str | Unset = "04:00"
    weekday: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        every_days = self.every_days

        time = self.time

        weekday = self.weekday

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if every_days is not UNSET:
            field_dict["every_days"] = every_days
        if time is not UNSET:
            field_dict["time"] = time
        if weekday is not UNSET:
            field_dict["weekday"] = weekday

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        every_days = d.pop("every_days", UNSET)

        time = d.pop("time", UNSET)

        weekday = d.pop("weekday", UNSET)

        drill_schedule = cls(
            every_days=every_days,
            time=time,
            weekday=weekday,
        )

        return drill_schedule
