from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.component_drill_status import ComponentDrillStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.outcome import Outcome


T = TypeVar("T", bound="ComponentDrill")


@_attrs_define
class ComponentDrill:
    """What a drill found for one component.

    Attributes:
        bytes_ (int):
        files (int): Files and bytes the restore copied.
        files_checked (int): Files hashed against `SHA256SUMS` after the restore.
        name (str):  Example: lui.
        status (ComponentDrillStatus): One component's state in a drill.
        errors (list[str] | Unset): What went wrong otherwise (the plan, the apply, the scratch), one line each.
        finished_at (datetime.datetime | None | Unset):
        mismatched (list[str] | Unset): Paths (relative to the set's folder) whose restored copy does not match its line
            in
            `SHA256SUMS`.
        missing (list[str] | Unset): Paths (relative to the set's folder) listed in `SHA256SUMS` that the restore should
            have put in place and that are not there.
        probe (None | Outcome | Unset):
        reason (None | str | Unset): Why it was skipped, or why it failed as a whole (one line each in `errors`).
        rto_seconds (float | None | Unset): Seconds from the drill's start until this component's restore was verified
            and its
            probe passed; absent unless it passed. Example: 12.5.
        scratch_home (None | str | Unset): The scratch home restored into: `<drill_root>/<drill ID>/<component>`.
            Example: /srv/maestro/lui/drills/D20261201T040000Z/lui.
        source_folder (None | str | Unset): The set's folder restored from. Example: /srv/maestro/lui/backup.
        started_at (datetime.datetime | None | Unset):
    """

    bytes_: int
    files: int
    files_checked: int
    name: str
    status: ComponentDrillStatus
    errors: list[str] | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    mismatched: list[str] | Unset = UNSET
    missing: list[str] | Unset = UNSET
    probe: None | Outcome | Unset = UNSET
    reason: None | str | Unset = UNSET
    rto_seconds: float | None | Unset = UNSET
    scratch_home: None | str | Unset = UNSET
    source_folder: None | str | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.outcome import Outcome  # noqa: PLC0415

        bytes_ = self.bytes_

        files = self.files

        files_checked = self.files_checked

        name = self.name

        status = self.status.value

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

        mismatched: list[str] | Unset = UNSET
        if not isinstance(self.mismatched, Unset):
            mismatched = self.mismatched

        missing: list[str] | Unset = UNSET
        if not isinstance(self.missing, Unset):
            missing = self.missing

        probe: dict[str, Any] | None | Unset
        if isinstance(self.probe, Unset):
            probe = UNSET
        elif isinstance(self.probe, Outcome):
            probe = self.probe.to_dict()
        else:
            probe = self.probe

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        rto_seconds: float | None | Unset
        if isinstance(self.rto_seconds, Unset):
            rto_seconds = UNSET
        else:
            rto_seconds = self.rto_seconds

        scratch_home: None | str | Unset
        if isinstance(self.scratch_home, Unset):
            scratch_home = UNSET
        else:
            scratch_home = self.scratch_home

        source_folder: None | str | Unset
        if isinstance(self.source_folder, Unset):
            source_folder = UNSET
        else:
            source_folder = self.source_folder

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "files": files,
                "files_checked": files_checked,
                "name": name,
                "status": status,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if mismatched is not UNSET:
            field_dict["mismatched"] = mismatched
        if missing is not UNSET:
            field_dict["missing"] = missing
        if probe is not UNSET:
            field_dict["probe"] = probe
        if reason is not UNSET:
            field_dict["reason"] = reason
        if rto_seconds is not UNSET:
            field_dict["rto_seconds"] = rto_seconds
        if scratch_home is not UNSET:
            field_dict["scratch_home"] = scratch_home
        if source_folder is not UNSET:
            field_dict["source_folder"] = source_folder
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.outcome import Outcome  # noqa: PLC0415

        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        files = d.pop("files")

        files_checked = d.pop("files_checked")

        name = d.pop("name")

        status = ComponentDrillStatus(d.pop("status"))

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

        mismatched = cast(list[str], d.pop("mismatched", UNSET))

        missing = cast(list[str], d.pop("missing", UNSET))

        def _parse_probe(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                probe_type_1 = Outcome.from_dict(data)

                return probe_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        probe = _parse_probe(d.pop("probe", UNSET))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_rto_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        rto_seconds = _parse_rto_seconds(d.pop("rto_seconds", UNSET))

        def _parse_scratch_home(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        scratch_home = _parse_scratch_home(d.pop("scratch_home", UNSET))

        def _parse_source_folder(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source_folder = _parse_source_folder(d.pop("source_folder", UNSET))

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

        component_drill = cls(
            bytes_=bytes_,
            files=files,
            files_checked=files_checked,
            name=name,
            status=status,
            errors=errors,
            finished_at=finished_at,
            mismatched=mismatched,
            missing=missing,
            probe=probe,
            reason=reason,
            rto_seconds=rto_seconds,
            scratch_home=scratch_home,
            source_folder=source_folder,
            started_at=started_at,
        )

        component_drill.additional_properties = d
        return component_drill

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
