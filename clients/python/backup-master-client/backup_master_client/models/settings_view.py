from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.drill_schedule import DrillSchedule
    from ..models.hook_settings import HookSettings
    from ..models.next_run import NextRun
    from ..models.schedule_settings import ScheduleSettings


T = TypeVar("T", bound="SettingsView")


@_attrs_define
class SettingsView:
    """`GET /settings`: the schedule and hooks, plus the next scheduled runs.

    Attributes:
        drill (DrillSchedule): The `[drill]` table: when restore drills run by themselves. `weekday` and `every_days`
            are
            exclusive; neither set: no scheduled drill. The time is in the schedule's time zone.
        hooks (HookSettings): The `[hooks]` table: commands run after each backup.
        next_runs (list[NextRun]): The next 5 scheduled runs (empty when the schedule is disabled).
        schedule (ScheduleSettings): The `[schedule]` table.
    """

    drill: DrillSchedule
    hooks: HookSettings
    next_runs: list[NextRun]
    schedule: ScheduleSettings
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        drill = self.drill.to_dict()

        hooks = self.hooks.to_dict()

        next_runs = []
        for next_runs_item_data in self.next_runs:
            next_runs_item = next_runs_item_data.to_dict()
            next_runs.append(next_runs_item)

        schedule = self.schedule.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "drill": drill,
                "hooks": hooks,
                "next_runs": next_runs,
                "schedule": schedule,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.drill_schedule import DrillSchedule  # noqa: PLC0415
        from ..models.hook_settings import HookSettings  # noqa: PLC0415
        from ..models.next_run import NextRun  # noqa: PLC0415
        from ..models.schedule_settings import ScheduleSettings  # noqa: PLC0415

        d = dict(src_dict)
        drill = DrillSchedule.from_dict(d.pop("drill"))

        hooks = HookSettings.from_dict(d.pop("hooks"))

        next_runs = []
        _next_runs = d.pop("next_runs")
        for next_runs_item_data in _next_runs:
            next_runs_item = NextRun.from_dict(next_runs_item_data)

            next_runs.append(next_runs_item)

        schedule = ScheduleSettings.from_dict(d.pop("schedule"))

        settings_view = cls(
            drill=drill,
            hooks=hooks,
            next_runs=next_runs,
            schedule=schedule,
        )

        settings_view.additional_properties = d
        return settings_view

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
