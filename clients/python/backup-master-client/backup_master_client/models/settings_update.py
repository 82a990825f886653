from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.hook_settings import HookSettings
    from ..models.schedule_settings import ScheduleSettings


T = TypeVar("T", bound="SettingsUpdate")


@_attrs_define
class SettingsUpdate:
    """`PUT /settings`: the whole `schedule` and `hooks`.

    Attributes:
        hooks (HookSettings): The `[hooks]` table: commands run after each backup.
        schedule (ScheduleSettings): The `[schedule]` table.
    """

    hooks: HookSettings
    schedule: ScheduleSettings

    def to_dict(self) -> dict[str, Any]:
        hooks = self.hooks.to_dict()

        schedule = self.schedule.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hooks": hooks,
                "schedule": schedule,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hook_settings import HookSettings  # noqa: PLC0415
        from ..models.schedule_settings import ScheduleSettings  # noqa: PLC0415

        d = dict(src_dict)
        hooks = HookSettings.from_dict(d.pop("hooks"))

        schedule = ScheduleSettings.from_dict(d.pop("schedule"))

        settings_update = cls(
            hooks=hooks,
            schedule=schedule,
        )

        return settings_update
