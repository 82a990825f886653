from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ScheduleSettings")


@_attrs_define
class ScheduleSettings:
    """The `[schedule]` table.

    Attributes:
        catch_up (bool): Run once at start-up when the last scheduled run was missed while the server was down.
        daily_time (str): Local time of the daily backup, exactly `hh:mm`, 00:00 to 23:59. Example: 02:00.
        enabled (bool): Whether the daily backup runs.
        time_zone (str): IANA time zone name; empty means the machine's local zone. Example: Europe/Berlin.
    """

    catch_up: bool
    daily_time: str
    enabled: bool
    time_zone: str

    def to_dict(self) -> dict[str, Any]:
        catch_up = self.catch_up

        daily_time = self.daily_time

        enabled = self.enabled

        time_zone = self.time_zone

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "catch_up": catch_up,
                "daily_time": daily_time,
                "enabled": enabled,
                "time_zone": time_zone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        catch_up = d.pop("catch_up")

        daily_time = d.pop("daily_time")

        enabled = d.pop("enabled")

        time_zone = d.pop("time_zone")

        schedule_settings = cls(
            catch_up=catch_up,
            daily_time=daily_time,
            enabled=enabled,
            time_zone=time_zone,
        )

        return schedule_settings
