from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.backup_status import BackupStatus
from ..models.trigger import Trigger
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.component_progress import ComponentProgress
    from ..models.heuristic_outcome import HeuristicOutcome
    from ..models.kept_staging import KeptStaging


T = TypeVar("T", bound="BackupRecord")


@_attrs_define
class BackupRecord:
    """A backup job: what `/backups/{id}` returns.

    Attributes:
        components (list[ComponentProgress]): One entry per component, in config order.
        id (str): Backup ID, e.g. `20261126T020000Z` (`.0001`.. for more in the same second). Example: 20261126T020000Z.
        report (str): Path of the report file `<state_dir>/logs/backupReport_<ID>.txt`.
        started_at (datetime.datetime):
        status (BackupStatus): The state of a backup. Every state but `running` is final.
        trigger (Trigger): What started a backup.
        commit_decided (bool | Unset): True once the decision to commit was durable: from then on recovery rolls
            forward. Set
            back to false (durably, before anything is aborted) only when the commit was abandoned
            because a component refused it before any component had committed.
        errors (list[str] | Unset): Errors of the set as a whole (e.g. "cancelled by request", "interrupted").
        finished_at (datetime.datetime | None | Unset): Set when the status became final.
        heuristic (list[HeuristicOutcome] | Unset): Remote components an operator had resolved by hand on their agent's
            machine
            (`backup-master agent resolve`) when the master met them again; a `mismatch` means the
            components did not all end the same way (the errors say how).
        hook_pending (bool | Unset): True from the write that made the record final until its after-backup hook
            (`on_success` / `on_failure`) was started, skipped or found unconfigured; an owed hook is
            started when the master starts again, exactly once (the hook process record, written
            before the process starts, proves an earlier start).
        kept_stagings (list[KeptStaging] | Unset): Staging folders kept for the operator: the commit of these components
            could not be
            completed, and each folder is the only copy of that component's backup. Nothing removes
            them and no backup starts (409) until an operator discards them
            (`DELETE /api/v1/backups/{id}/staging`).
        notes (list[str] | Unset): Informational notes, e.g. that recovery rolled the commit forward.
        scheduled_for (datetime.datetime | None | Unset): The scheduled instant this run belongs to (schedule and catch-
            up runs).
    """

    components: list[ComponentProgress]
    id: str
    report: str
    started_at: datetime.datetime
    status: BackupStatus
    trigger: Trigger
    commit_decided: bool | Unset = UNSET
    errors: list[str] | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    heuristic: list[HeuristicOutcome] | Unset = UNSET
    hook_pending: bool | Unset = UNSET
    kept_stagings: list[KeptStaging] | Unset = UNSET
    notes: list[str] | Unset = UNSET
    scheduled_for: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        components = []
        for components_item_data in self.components:
            components_item = components_item_data.to_dict()
            components.append(components_item)

        id = self.id

        report = self.report

        started_at = self.started_at.isoformat()

        status = self.status.value

        trigger = self.trigger.value

        commit_decided = self.commit_decided

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

        heuristic: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.heuristic, Unset):
            heuristic = []
            for heuristic_item_data in self.heuristic:
                heuristic_item = heuristic_item_data.to_dict()
                heuristic.append(heuristic_item)

        hook_pending = self.hook_pending

        kept_stagings: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.kept_stagings, Unset):
            kept_stagings = []
            for kept_stagings_item_data in self.kept_stagings:
                kept_stagings_item = kept_stagings_item_data.to_dict()
                kept_stagings.append(kept_stagings_item)

        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes

        scheduled_for: None | str | Unset
        if isinstance(self.scheduled_for, Unset):
            scheduled_for = UNSET
        elif isinstance(self.scheduled_for, datetime.datetime):
            scheduled_for = self.scheduled_for.isoformat()
        else:
            scheduled_for = self.scheduled_for

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "components": components,
                "id": id,
                "report": report,
                "started_at": started_at,
                "status": status,
                "trigger": trigger,
            }
        )
        if commit_decided is not UNSET:
            field_dict["commit_decided"] = commit_decided
        if errors is not UNSET:
            field_dict["errors"] = errors
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if heuristic is not UNSET:
            field_dict["heuristic"] = heuristic
        if hook_pending is not UNSET:
            field_dict["hook_pending"] = hook_pending
        if kept_stagings is not UNSET:
            field_dict["kept_stagings"] = kept_stagings
        if notes is not UNSET:
            field_dict["notes"] = notes
        if scheduled_for is not UNSET:
            field_dict["scheduled_for"] = scheduled_for

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component_progress import ComponentProgress  # noqa: PLC0415
        from ..models.heuristic_outcome import HeuristicOutcome  # noqa: PLC0415
        from ..models.kept_staging import KeptStaging  # noqa: PLC0415

        d = dict(src_dict)
        components = []
        _components = d.pop("components")
        for components_item_data in _components:
            components_item = ComponentProgress.from_dict(components_item_data)

            components.append(components_item)

        id = d.pop("id")

        report = d.pop("report")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = BackupStatus(d.pop("status"))

        trigger = Trigger(d.pop("trigger"))

        commit_decided = d.pop("commit_decided", UNSET)

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

        _heuristic = d.pop("heuristic", UNSET)
        heuristic: list[HeuristicOutcome] | Unset = UNSET
        if _heuristic is not UNSET:
            heuristic = []
            for heuristic_item_data in _heuristic:
                heuristic_item = HeuristicOutcome.from_dict(heuristic_item_data)

                heuristic.append(heuristic_item)

        hook_pending = d.pop("hook_pending", UNSET)

        _kept_stagings = d.pop("kept_stagings", UNSET)
        kept_stagings: list[KeptStaging] | Unset = UNSET
        if _kept_stagings is not UNSET:
            kept_stagings = []
            for kept_stagings_item_data in _kept_stagings:
                kept_stagings_item = KeptStaging.from_dict(kept_stagings_item_data)

                kept_stagings.append(kept_stagings_item)

        notes = cast(list[str], d.pop("notes", UNSET))

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

        backup_record = cls(
            components=components,
            id=id,
            report=report,
            started_at=started_at,
            status=status,
            trigger=trigger,
            commit_decided=commit_decided,
            errors=errors,
            finished_at=finished_at,
            heuristic=heuristic,
            hook_pending=hook_pending,
            kept_stagings=kept_stagings,
            notes=notes,
            scheduled_for=scheduled_for,
        )

        backup_record.additional_properties = d
        return backup_record

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
