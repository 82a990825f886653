from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_kind import EventKind
from ..models.severity import Severity
from ..types import UNSET, Unset

T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """One event, as every notification carries it.

    Attributes:
        at (datetime.datetime): When it happened (RFC 3339, UTC). Example: 2026-11-26T02:00:04Z.
        event (EventKind): What happened. The snake_case names are what matchers list (`events = [...]`).
        severity (Severity): How bad an event is, mildest first (matchers compare them: `min_severity`).
        summary (str): One line. Example: backup 20261126T020000Z failed: lui: cannot read accountreg/x.reg.
        backup_id (None | str | Unset): The backup it is about (also the set a verification checked, the backup a hook
            ran
            after, the backup a restore restored). Example: 20261126T020000Z.
        components (list[str] | Unset): The components concerned (empty when it concerns none in particular). Example:
            ['hub', 'lui', 'trk'].
        job_id (None | str | Unset): The restore, verification or hook process it is about.
        link (None | str | Unset): The API path of the record this event is about. Example:
            /api/v1/backups/20261126T020000Z.
        report_tail (list[str] | Unset): For failures: the last lines of the report (or of the hook's output), at most
            20.
    """

    at: datetime.datetime
    event: EventKind
    severity: Severity
    summary: str
    backup_id: None | str | Unset = UNSET
    components: list[str] | Unset = UNSET
    job_id: None | str | Unset = UNSET
    link: None | str | Unset = UNSET
    report_tail: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        event = self.event.value

        severity = self.severity.value

        summary = self.summary

        backup_id: None | str | Unset
        if isinstance(self.backup_id, Unset):
            backup_id = UNSET
        else:
            backup_id = self.backup_id

        components: list[str] | Unset = UNSET
        if not isinstance(self.components, Unset):
            components = self.components

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        link: None | str | Unset
        if isinstance(self.link, Unset):
            link = UNSET
        else:
            link = self.link

        report_tail: list[str] | Unset = UNSET
        if not isinstance(self.report_tail, Unset):
            report_tail = self.report_tail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "event": event,
                "severity": severity,
                "summary": summary,
            }
        )
        if backup_id is not UNSET:
            field_dict["backup_id"] = backup_id
        if components is not UNSET:
            field_dict["components"] = components
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if link is not UNSET:
            field_dict["link"] = link
        if report_tail is not UNSET:
            field_dict["report_tail"] = report_tail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        event = EventKind(d.pop("event"))

        severity = Severity(d.pop("severity"))

        summary = d.pop("summary")

        def _parse_backup_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        backup_id = _parse_backup_id(d.pop("backup_id", UNSET))

        components = cast(list[str], d.pop("components", UNSET))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_link(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        link = _parse_link(d.pop("link", UNSET))

        report_tail = cast(list[str], d.pop("report_tail", UNSET))

        event = cls(
            at=at,
            event=event,
            severity=severity,
            summary=summary,
            backup_id=backup_id,
            components=components,
            job_id=job_id,
            link=link,
            report_tail=report_tail,
        )

        event.additional_properties = d
        return event

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
