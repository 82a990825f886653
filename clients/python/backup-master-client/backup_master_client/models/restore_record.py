from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.restore_status import RestoreStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.component_lifecycle import ComponentLifecycle
    from ..models.component_restore import ComponentRestore
    from ..models.folder_check import FolderCheck
    from ..models.heuristic_outcome import HeuristicOutcome
    from ..models.participation import Participation
    from ..models.restore_record_source_folders import RestoreRecordSourceFolders
    from ..models.step import Step


T = TypeVar("T", bound="RestoreRecord")


@_attrs_define
class RestoreRecord:
    """A restore job: the request, the plan, the steps, the outcome.

    Attributes:
        backup_id (str): The backup set restored (the ID actually used). Example: 20261126T020000Z.
        changed (list[str]): Every path of a home the restore changed (moved, created, copied, edited, removed), in
            the order it first changed. Empty for a dry run.
        commit_decided (bool): True once every component was applied: from then on the restore completes, also after
            a crash (only the safety folders remain to be removed).
        components (list[ComponentRestore]): The plan per component, and how far each got.
        created_at (datetime.datetime):
        dry_run (bool):
        errors (list[str]):
        id (str):  Example: R20261126T101500Z.
        notes (list[str]):
        source_folders (RestoreRecordSourceFolders): The request's `source_folders`.
        status (RestoreStatus): Where a restore stands. Every status but `running` is final.
        steps (list[Step]):
        verification (list[FolderCheck]): Each backup folder's verification, done before anything was touched.
        finished_at (datetime.datetime | None | Unset):
        heuristic (list[HeuristicOutcome] | Unset): Remote components an operator had resolved by hand on their agent's
            machine
            (`backup-master agent resolve`) when the master met them again; a `mismatch` means the
            components did not all end the same way (the errors say how).
        lifecycle (list[ComponentLifecycle] | Unset): Components with a `stop_command`, `start_command` or
            `health_command`: how the restore
            stopped, started and proved each one (absent when none has any).
        participation (None | Participation | Unset):
        requested_components (list[str] | None | Unset): The components asked for (absent: all configured components).
        safety_copy_bytes (int | Unset): Bytes the kept safety copies of this restore hold (computed when read); absent
            when
            none is kept.
        started_at (datetime.datetime | None | Unset):
        undo_available (bool | Unset): True when `POST /restores/{id}/undo` would be accepted now (computed when read);
            absent when it would not.
        undo_of (None | str | Unset): Only on an undo: the ID of the restore it undoes (`POST /restores/{id}/undo`). Its
            `backup_id` is that restore's, for reference; nothing is read from the backup set. Example: R20261126T101500Z.
        undo_unavailable_because (None | str | Unset): For a succeeded restore that cannot be undone: why (computed when
            read).
    """

    backup_id: str
    changed: list[str]
    commit_decided: bool
    components: list[ComponentRestore]
    created_at: datetime.datetime
    dry_run: bool
    errors: list[str]
    id: str
    notes: list[str]
    source_folders: RestoreRecordSourceFolders
    status: RestoreStatus
    steps: list[Step]
    verification: list[FolderCheck]
    finished_at: datetime.datetime | None | Unset = UNSET
    heuristic: list[HeuristicOutcome] | Unset = UNSET
    lifecycle: list[ComponentLifecycle] | Unset = UNSET
    participation: None | Participation | Unset = UNSET
    requested_components: list[str] | None | Unset = UNSET
    safety_copy_bytes: int | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    undo_available: bool | Unset = UNSET
    undo_of: None | str | Unset = UNSET
    undo_unavailable_because: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.participation import Participation  # noqa: PLC0415

        backup_id = self.backup_id

        changed = self.changed

        commit_decided = self.commit_decided

        components = []
        for components_item_data in self.components:
            components_item = components_item_data.to_dict()
            components.append(components_item)

        created_at = self.created_at.isoformat()

        dry_run = self.dry_run

        errors = self.errors

        id = self.id

        notes = self.notes

        source_folders = self.source_folders.to_dict()

        status = self.status.value

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        verification = []
        for verification_item_data in self.verification:
            verification_item = verification_item_data.to_dict()
            verification.append(verification_item)

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

        lifecycle: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.lifecycle, Unset):
            lifecycle = []
            for lifecycle_item_data in self.lifecycle:
                lifecycle_item = lifecycle_item_data.to_dict()
                lifecycle.append(lifecycle_item)

        participation: dict[str, Any] | None | Unset
        if isinstance(self.participation, Unset):
            participation = UNSET
        elif isinstance(self.participation, Participation):
            participation = self.participation.to_dict()
        else:
            participation = self.participation

        requested_components: list[str] | None | Unset
        if isinstance(self.requested_components, Unset):
            requested_components = UNSET
        elif isinstance(self.requested_components, list):
            requested_components = self.requested_components

        else:
            requested_components = self.requested_components

        safety_copy_bytes = self.safety_copy_bytes

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        undo_available = self.undo_available

        undo_of: None | str | Unset
        if isinstance(self.undo_of, Unset):
            undo_of = UNSET
        else:
            undo_of = self.undo_of

        undo_unavailable_because: None | str | Unset
        if isinstance(self.undo_unavailable_because, Unset):
            undo_unavailable_because = UNSET
        else:
            undo_unavailable_because = self.undo_unavailable_because

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backup_id": backup_id,
                "changed": changed,
                "commit_decided": commit_decided,
                "components": components,
                "created_at": created_at,
                "dry_run": dry_run,
                "errors": errors,
                "id": id,
                "notes": notes,
                "source_folders": source_folders,
                "status": status,
                "steps": steps,
                "verification": verification,
            }
        )
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if heuristic is not UNSET:
            field_dict["heuristic"] = heuristic
        if lifecycle is not UNSET:
            field_dict["lifecycle"] = lifecycle
        if participation is not UNSET:
            field_dict["participation"] = participation
        if requested_components is not UNSET:
            field_dict["requested_components"] = requested_components
        if safety_copy_bytes is not UNSET:
            field_dict["safety_copy_bytes"] = safety_copy_bytes
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if undo_available is not UNSET:
            field_dict["undo_available"] = undo_available
        if undo_of is not UNSET:
            field_dict["undo_of"] = undo_of
        if undo_unavailable_because is not UNSET:
            field_dict["undo_unavailable_because"] = undo_unavailable_because

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component_lifecycle import ComponentLifecycle  # noqa: PLC0415
        from ..models.component_restore import ComponentRestore  # noqa: PLC0415
        from ..models.folder_check import FolderCheck  # noqa: PLC0415
        from ..models.heuristic_outcome import HeuristicOutcome  # noqa: PLC0415
        from ..models.participation import Participation  # noqa: PLC0415
        from ..models.restore_record_source_folders import RestoreRecordSourceFolders  # noqa: PLC0415
        from ..models.step import Step  # noqa: PLC0415

        d = dict(src_dict)
        backup_id = d.pop("backup_id")

        changed = cast(list[str], d.pop("changed"))

        commit_decided = d.pop("commit_decided")

        components = []
        _components = d.pop("components")
        for components_item_data in _components:
            components_item = ComponentRestore.from_dict(components_item_data)

            components.append(components_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        dry_run = d.pop("dry_run")

        errors = cast(list[str], d.pop("errors"))

        id = d.pop("id")

        notes = cast(list[str], d.pop("notes"))

        source_folders = RestoreRecordSourceFolders.from_dict(d.pop("source_folders"))

        status = RestoreStatus(d.pop("status"))

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = Step.from_dict(steps_item_data)

            steps.append(steps_item)

        verification = []
        _verification = d.pop("verification")
        for verification_item_data in _verification:
            verification_item = FolderCheck.from_dict(verification_item_data)

            verification.append(verification_item)

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

        _lifecycle = d.pop("lifecycle", UNSET)
        lifecycle: list[ComponentLifecycle] | Unset = UNSET
        if _lifecycle is not UNSET:
            lifecycle = []
            for lifecycle_item_data in _lifecycle:
                lifecycle_item = ComponentLifecycle.from_dict(lifecycle_item_data)

                lifecycle.append(lifecycle_item)

        def _parse_participation(data: object) -> None | Participation | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                participation_type_1 = Participation.from_dict(data)

                return participation_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Participation | Unset, data)

        participation = _parse_participation(d.pop("participation", UNSET))

        def _parse_requested_components(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                requested_components_type_0 = cast(list[str], data)

                return requested_components_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        requested_components = _parse_requested_components(d.pop("requested_components", UNSET))

        safety_copy_bytes = d.pop("safety_copy_bytes", UNSET)

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        undo_available = d.pop("undo_available", UNSET)

        def _parse_undo_of(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        undo_of = _parse_undo_of(d.pop("undo_of", UNSET))

        def _parse_undo_unavailable_because(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        undo_unavailable_because = _parse_undo_unavailable_because(d.pop("undo_unavailable_because", UNSET))

        restore_record = cls(
            backup_id=backup_id,
            changed=changed,
            commit_decided=commit_decided,
            components=components,
            created_at=created_at,
            dry_run=dry_run,
            errors=errors,
            id=id,
            notes=notes,
            source_folders=source_folders,
            status=status,
            steps=steps,
            verification=verification,
            finished_at=finished_at,
            heuristic=heuristic,
            lifecycle=lifecycle,
            participation=participation,
            requested_components=requested_components,
            safety_copy_bytes=safety_copy_bytes,
            started_at=started_at,
            undo_available=undo_available,
            undo_of=undo_of,
            undo_unavailable_because=undo_unavailable_because,
        )

        restore_record.additional_properties = d
        return restore_record

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
