from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.replication_kind import ReplicationKind
from ..models.replication_status import ReplicationStatus
from ..models.replication_trigger import ReplicationTrigger
from ..types import UNSET, Unset

T = TypeVar("T", bound="ReplicationRecord")


@_attrs_define
class ReplicationRecord:
    """A replication's record.

    Attributes:
        already_replicated (bool): The set's manifest was on the bucket already: nothing was uploaded.
        backup_id (str): The backup set copied. Example: 20261126T020000Z.
        blobs_present (int): Blobs already on the bucket (unchanged or shared content): skipped.
        blobs_total (int): Distinct blobs (file contents) of the set, and their bytes.
        blobs_uploaded (int): Blobs uploaded by this run, and their bytes.
        bytes_present (int):
        bytes_total (int):
        bytes_uploaded (int):
        id (str):  Example: C20261126T020500Z.
        retries (int): Failed attempts of requests to the store (an answer 5xx, 429 or 408, a timeout, a lost
            connection), each tried again while the retries last.
        started_at (datetime.datetime):
        status (ReplicationStatus):
        target (str): The replication target. Example: offsite.
        trigger (ReplicationTrigger): What started a replication.
        blobs_removed (int | Unset):
        deep (bool | Unset): A `verify` that downloads and hashes every blob (else: existence and size).
        error (None | str | Unset): Why it failed, naming the target.
        finished_at (datetime.datetime | None | Unset):
        kind (ReplicationKind | Unset): What a replication job does.
        manifest_key (None | str | Unset): The manifest's key on the bucket (under the target's prefix) once written.
        problem_count (int | Unset):
        problems (list[str] | Unset): A `verify`: what is missing or wrong on the bucket, each naming the blob and a
            file of
            the set (the first 100), and how many problems there were.
        retention_error (None | str | Unset): Why the retention pass after a successful copy failed (the copy itself is
            complete).
        sets_removed (list[str] | Unset): A `copy` to a target with `keep`: the sets the retention pass removed from the
            bucket,
            and the blobs no remaining set used.
    """

    already_replicated: bool
    backup_id: str
    blobs_present: int
    blobs_total: int
    blobs_uploaded: int
    bytes_present: int
    bytes_total: int
    bytes_uploaded: int
    id: str
    retries: int
    started_at: datetime.datetime
    status: ReplicationStatus
    target: str
    trigger: ReplicationTrigger
    blobs_removed: int | Unset = UNSET
    deep: bool | Unset = UNSET
    error: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    kind: ReplicationKind | Unset = UNSET
    manifest_key: None | str | Unset = UNSET
    problem_count: int | Unset = UNSET
    problems: list[str] | Unset = UNSET
    retention_error: None | str | Unset = UNSET
    sets_removed: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        already_replicated = self.already_replicated

        backup_id = self.backup_id

        blobs_present = self.blobs_present

        blobs_total = self.blobs_total

        blobs_uploaded = self.blobs_uploaded

        bytes_present = self.bytes_present

        bytes_total = self.bytes_total

        bytes_uploaded = self.bytes_uploaded

        id = self.id

        retries = self.retries

        started_at = self.started_at.isoformat()

        status = self.status.value

        target = self.target

        trigger = self.trigger.value

        blobs_removed = self.blobs_removed

        deep = self.deep

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        manifest_key: None | str | Unset
        if isinstance(self.manifest_key, Unset):
            manifest_key = UNSET
        else:
            manifest_key = self.manifest_key

        problem_count = self.problem_count

        problems: list[str] | Unset = UNSET
        if not isinstance(self.problems, Unset):
            problems = self.problems

        retention_error: None | str | Unset
        if isinstance(self.retention_error, Unset):
            retention_error = UNSET
        else:
            retention_error = self.retention_error

        sets_removed: list[str] | Unset = UNSET
        if not isinstance(self.sets_removed, Unset):
            sets_removed = self.sets_removed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "already_replicated": already_replicated,
                "backup_id": backup_id,
                "blobs_present": blobs_present,
                "blobs_total": blobs_total,
                "blobs_uploaded": blobs_uploaded,
                "bytes_present": bytes_present,
                "bytes_total": bytes_total,
                "bytes_uploaded": bytes_uploaded,
                "id": id,
                "retries": retries,
                "started_at": started_at,
                "status": status,
                "target": target,
                "trigger": trigger,
            }
        )
        if blobs_removed is not UNSET:
            field_dict["blobs_removed"] = blobs_removed
        if deep is not UNSET:
            field_dict["deep"] = deep
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if kind is not UNSET:
            field_dict["kind"] = kind
        if manifest_key is not UNSET:
            field_dict["manifest_key"] = manifest_key
        if problem_count is not UNSET:
            field_dict["problem_count"] = problem_count
        if problems is not UNSET:
            field_dict["problems"] = problems
        if retention_error is not UNSET:
            field_dict["retention_error"] = retention_error
        if sets_removed is not UNSET:
            field_dict["sets_removed"] = sets_removed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        already_replicated = d.pop("already_replicated")

        backup_id = d.pop("backup_id")

        blobs_present = d.pop("blobs_present")

        blobs_total = d.pop("blobs_total")

        blobs_uploaded = d.pop("blobs_uploaded")

        bytes_present = d.pop("bytes_present")

        bytes_total = d.pop("bytes_total")

        bytes_uploaded = d.pop("bytes_uploaded")

        id = d.pop("id")

        retries = d.pop("retries")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = ReplicationStatus(d.pop("status"))

        target = d.pop("target")

        trigger = ReplicationTrigger(d.pop("trigger"))

        blobs_removed = d.pop("blobs_removed", UNSET)

        deep = d.pop("deep", UNSET)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

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

        _kind = d.pop("kind", UNSET)
        kind: ReplicationKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = ReplicationKind(_kind)

        def _parse_manifest_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        manifest_key = _parse_manifest_key(d.pop("manifest_key", UNSET))

        problem_count = d.pop("problem_count", UNSET)

        problems = cast(list[str], d.pop("problems", UNSET))

        def _parse_retention_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        retention_error = _parse_retention_error(d.pop("retention_error", UNSET))

        sets_removed = cast(list[str], d.pop("sets_removed", UNSET))

        replication_record = cls(
            already_replicated=already_replicated,
            backup_id=backup_id,
            blobs_present=blobs_present,
            blobs_total=blobs_total,
            blobs_uploaded=blobs_uploaded,
            bytes_present=bytes_present,
            bytes_total=bytes_total,
            bytes_uploaded=bytes_uploaded,
            id=id,
            retries=retries,
            started_at=started_at,
            status=status,
            target=target,
            trigger=trigger,
            blobs_removed=blobs_removed,
            deep=deep,
            error=error,
            finished_at=finished_at,
            kind=kind,
            manifest_key=manifest_key,
            problem_count=problem_count,
            problems=problems,
            retention_error=retention_error,
            sets_removed=sets_removed,
        )

        replication_record.additional_properties = d
        return replication_record

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
