from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.drill_schedule import DrillSchedule
    from ..models.hook_settings import HookSettings
    from ..models.schedule_settings import ScheduleSettings


T = TypeVar("T", bound="SettingsUpdate")


@_attrs_define
class SettingsUpdate:
    """`PUT /settings`: the whole `schedule` and `hooks`.

    Attributes:
        hooks (HookSettings): The `[hooks]` table: commands run after each backup.
        schedule (ScheduleSettings): The `[schedule]` table.
        drill (DrillSchedule | None | Unset):
    """

    hooks: HookSettings
    schedule: ScheduleSettings
    drill: DrillSchedule | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.drill_schedule import DrillSchedule  # noqa: PLC0415

        hooks = self.hooks.to_dict()

        schedule = self.schedule.to_dict()

        drill: dict[str, Any] | None | Unset
        if isinstance(self.drill, Unset):
            drill = UNSET
        elif isinstance(self.drill, DrillSchedule):
            drill = self.drill.to_dict()
        else:
            drill = self.drill

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hooks": hooks,
                "schedule": schedule,
            }
        )
        if drill is not UNSET:
            field_dict["drill"] = drill

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.drill_schedule import DrillSchedule  # noqa: PLC0415
        from ..models.hook_settings import HookSettings  # noqa: PLC0415
        from ..models.schedule_settings import ScheduleSettings  # noqa: PLC0415

        d = dict(src_dict)
        hooks = HookSettings.from_dict(d.pop("hooks"))

        schedule = ScheduleSettings.from_dict(d.pop("schedule"))

        def _parse_drill(data: object) -> DrillSchedule | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                drill_type_1 = DrillSchedule.from_dict(data)

                return drill_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DrillSchedule | None | Unset, data)

        drill = _parse_drill(d.pop("drill", UNSET))

        settings_update = cls(
            hooks=hooks,
            schedule=schedule,
            drill=drill,
        )

        return settings_update
