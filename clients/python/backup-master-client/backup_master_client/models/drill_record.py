from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.drill_status import DrillStatus
from ..models.drill_trigger import DrillTrigger
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.component_drill import ComponentDrill
    from ..models.scratch_folder import ScratchFolder


T = TypeVar("T", bound="DrillRecord")


@_attrs_define
class DrillRecord:
    """A restore drill.

    Attributes:
        backup_id (str): The backup set drilled. Example: 20261201T020000Z.
        components (list[ComponentDrill]): Per component, in config order.
        id (str):  Example: D20261201T040000Z.
        keep_scratch (bool): The scratch copies are kept at the end (`keep_scratch`).
        started_at (datetime.datetime):
        status (DrillStatus): A drill's state: `running`, then `passed`, `failed`, `cancelled` (an operator stopped it)
            or (the master died while it ran) `interrupted`.
        trigger (DrillTrigger): Who started a drill.
        errors (list[str] | Unset): What went wrong with the drill as a whole.
        finished_at (datetime.datetime | None | Unset):
        notes (list[str] | Unset):
        rpo_seconds (float | None | Unset): The RPO the drill proved: seconds from the set's start to the drill's start
            (the age
            of the data a restore now would bring back). Example: 7200.0.
        rto_seconds (float | None | Unset): The RTO the drill measured: seconds from its start until every drilled
            component was
            verified; absent unless it passed. Example: 31.2.
        scheduled_for (datetime.datetime | None | Unset): For a scheduled drill: the instant it was scheduled for.
        scratch (list[ScratchFolder] | Unset): The scratch folders `<drill_root>/<ID>` the drill made (or is about to
            make), and
            whether each is removed.
        set_started_at (datetime.datetime | None | Unset): When the set's backup started (its earliest folder's start).
    """

    backup_id: str
    components: list[ComponentDrill]
    id: str
    keep_scratch: bool
    started_at: datetime.datetime
    status: DrillStatus
    trigger: DrillTrigger
    errors: list[str] | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    notes: list[str] | Unset = UNSET
    rpo_seconds: float | None | Unset = UNSET
    rto_seconds: float | None | Unset = UNSET
    scheduled_for: datetime.datetime | None | Unset = UNSET
    scratch: list[ScratchFolder] | Unset = UNSET
    set_started_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backup_id = self.backup_id

        components = []
        for components_item_data in self.components:
            components_item = components_item_data.to_dict()
            components.append(components_item)

        id = self.id

        keep_scratch = self.keep_scratch

        started_at = self.started_at.isoformat()

        status = self.status.value

        trigger = self.trigger.value

        errors: list[str] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes

        rpo_seconds: float | None | Unset
        if isinstance(self.rpo_seconds, Unset):
            rpo_seconds = UNSET
        else:
            rpo_seconds = self.rpo_seconds

        rto_seconds: float | None | Unset
        if isinstance(self.rto_seconds, Unset):
            rto_seconds = UNSET
        else:
            rto_seconds = self.rto_seconds

        scheduled_for: None | str | Unset
        if isinstance(self.scheduled_for, Unset):
            scheduled_for = UNSET
        elif isinstance(self.scheduled_for, datetime.datetime):
            scheduled_for = self.scheduled_for.isoformat()
        else:
            scheduled_for = self.scheduled_for

        scratch: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.scratch, Unset):
            scratch = []
            for scratch_item_data in self.scratch:
                scratch_item = scratch_item_data.to_dict()
                scratch.append(scratch_item)

        set_started_at: None | str | Unset
        if isinstance(self.set_started_at, Unset):
            set_started_at = UNSET
        elif isinstance(self.set_started_at, datetime.datetime):
            set_started_at = self.set_started_at.isoformat()
        else:
            set_started_at = self.set_started_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backup_id": backup_id,
                "components": components,
                "id": id,
                "keep_scratch": keep_scratch,
                "started_at": started_at,
                "status": status,
                "trigger": trigger,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if notes is not UNSET:
            field_dict["notes"] = notes
        if rpo_seconds is not UNSET:
            field_dict["rpo_seconds"] = rpo_seconds
        if rto_seconds is not UNSET:
            field_dict["rto_seconds"] = rto_seconds
        if scheduled_for is not UNSET:
            field_dict["scheduled_for"] = scheduled_for
        if scratch is not UNSET:
            field_dict["scratch"] = scratch
        if set_started_at is not UNSET:
            field_dict["set_started_at"] = set_started_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component_drill import ComponentDrill  # noqa: PLC0415
        from ..models.scratch_folder import ScratchFolder  # noqa: PLC0415

        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        components = []
        _components = d.pop("components")
        for components_item_data in _components:
            components_item = ComponentDrill.from_dict(components_item_data)

            components.append(components_item)

        id = d.pop("id")

        keep_scratch = d.pop("keep_scratch")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = DrillStatus(d.pop("status"))

        trigger = DrillTrigger(d.pop("trigger"))

        errors = cast(list[str], d.pop("errors", UNSET))

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        notes = cast(list[str], d.pop("notes", UNSET))

        def _parse_rpo_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        rpo_seconds = _parse_rpo_seconds(d.pop("rpo_seconds", UNSET))

        def _parse_rto_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        rto_seconds = _parse_rto_seconds(d.pop("rto_seconds", UNSET))

        def _parse_scheduled_for(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                scheduled_for_type_0 = datetime.datetime.fromisoformat(data)

                return scheduled_for_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        scheduled_for = _parse_scheduled_for(d.pop("scheduled_for", UNSET))

        _scratch = d.pop("scratch", UNSET)
        scratch: list[ScratchFolder] | Unset = UNSET
        if _scratch is not UNSET:
            scratch = []
            for scratch_item_data in _scratch:
                scratch_item = ScratchFolder.from_dict(scratch_item_data)

                scratch.append(scratch_item)

        def _parse_set_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                set_started_at_type_0 = datetime.datetime.fromisoformat(data)

                return set_started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        set_started_at = _parse_set_started_at(d.pop("set_started_at", UNSET))

        drill_record = cls(
            backup_id=backup_id,
            components=components,
            id=id,
            keep_scratch=keep_scratch,
            started_at=started_at,
            status=status,
            trigger=trigger,
            errors=errors,
            finished_at=finished_at,
            notes=notes,
            rpo_seconds=rpo_seconds,
            rto_seconds=rto_seconds,
            scheduled_for=scheduled_for,
            scratch=scratch,
            set_started_at=set_started_at,
        )

        drill_record.additional_properties = d
        return drill_record

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
