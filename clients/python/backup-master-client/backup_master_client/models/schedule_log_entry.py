from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.scheduled_trigger import ScheduledTrigger

if TYPE_CHECKING:
    from ..models.schedule_outcome_type_0 import ScheduleOutcomeType0
    from ..models.schedule_outcome_type_1 import ScheduleOutcomeType1
    from ..models.schedule_outcome_type_2 import ScheduleOutcomeType2


T = TypeVar("T", bound="ScheduleLogEntry")


@_attrs_define
class ScheduleLogEntry:
    """One entry of the schedule log.

    Attributes:
        at (datetime.datetime): When the scheduler handled it (RFC 3339, UTC). Example: 2026-11-26T01:00:00Z.
        outcome (ScheduleOutcomeType0 | ScheduleOutcomeType1 | ScheduleOutcomeType2): What became of one scheduled
            instant.
        scheduled_for (datetime.datetime): The scheduled instant this entry is about (RFC 3339, UTC). Example:
            2026-11-26T01:00:00Z.
        trigger (ScheduledTrigger): Why the scheduler asks for a backup; the backup record's `trigger`.
    """

    at: datetime.datetime
    outcome: ScheduleOutcomeType0 | ScheduleOutcomeType1 | ScheduleOutcomeType2
    scheduled_for: datetime.datetime
    trigger: ScheduledTrigger
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.schedule_outcome_type_0 import ScheduleOutcomeType0  # noqa: PLC0415
        from ..models.schedule_outcome_type_1 import ScheduleOutcomeType1  # noqa: PLC0415

        at = self.at.isoformat()

        outcome: dict[str, Any]
        if isinstance(self.outcome, ScheduleOutcomeType0):
            outcome = self.outcome.to_dict()
        elif isinstance(self.outcome, ScheduleOutcomeType1):
            outcome = self.outcome.to_dict()
        else:
            outcome = self.outcome.to_dict()

        scheduled_for = self.scheduled_for.isoformat()

        trigger = self.trigger.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "outcome": outcome,
                "scheduled_for": scheduled_for,
                "trigger": trigger,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.schedule_outcome_type_0 import ScheduleOutcomeType0  # noqa: PLC0415
        from ..models.schedule_outcome_type_1 import ScheduleOutcomeType1  # noqa: PLC0415
        from ..models.schedule_outcome_type_2 import ScheduleOutcomeType2  # noqa: PLC0415

        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_outcome(data: object) -> ScheduleOutcomeType0 | ScheduleOutcomeType1 | ScheduleOutcomeType2:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_schedule_outcome_type_0 = ScheduleOutcomeType0.from_dict(data)

                return componentsschemas_schedule_outcome_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_schedule_outcome_type_1 = ScheduleOutcomeType1.from_dict(data)

                return componentsschemas_schedule_outcome_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_schedule_outcome_type_2 = ScheduleOutcomeType2.from_dict(data)

            return componentsschemas_schedule_outcome_type_2

        outcome = _parse_outcome(d.pop("outcome"))

        scheduled_for = datetime.datetime.fromisoformat(d.pop("scheduled_for"))

        trigger = ScheduledTrigger(d.pop("trigger"))

        schedule_log_entry = cls(
            at=at,
            outcome=outcome,
            scheduled_for=scheduled_for,
            trigger=trigger,
        )

        schedule_log_entry.additional_properties = d
        return schedule_log_entry

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
