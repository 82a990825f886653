from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.folder_source import FolderSource
from ..types import UNSET, Unset

T = TypeVar("T", bound="SetFolder")


@_attrs_define
class SetFolder:
    """One component's folder in a backup set, as its `readme.txt` describes it.

    Attributes:
        component (str):  Example: lui.
        folder (str): Absolute path of the folder. Example: /srv/maestro/lui/backup1.
        source (FolderSource): Where a folder of a set was found.
        agent (None | str | Unset): For a folder of a remote component: the URL of the agent whose machine holds it
            (`folder` is a path there). Absent for folders on this machine. Example: https://tracker.example:7444.
        errors (list[str] | Unset): The readme's `Error:` lines.
        finished (datetime.datetime | None | Unset):
        imported_at (datetime.datetime | None | Unset): When the folder was imported (imported folders only).
        problem (None | str | Unset): Why this folder cannot be trusted: readme missing, malformed or naming another
            component, an imported folder gone or changed.
        result (None | str | Unset): `success` or `error`, from `readme.txt`; absent when it cannot be read. Example:
            success.
        slot (None | str | Unset): The slot name for a slot folder. Example: backup1.
        started (datetime.datetime | None | Unset):
    """

    component: str
    folder: str
    source: FolderSource
    agent: None | str | Unset = UNSET
    errors: list[str] | Unset = UNSET
    finished: datetime.datetime | None | Unset = UNSET
    imported_at: datetime.datetime | None | Unset = UNSET
    problem: None | str | Unset = UNSET
    result: None | str | Unset = UNSET
    slot: None | str | Unset = UNSET
    started: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        component = self.component

        folder = self.folder

        source = self.source.value

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        errors: list[str] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        finished: None | str | Unset
        if isinstance(self.finished, Unset):
            finished = UNSET
        elif isinstance(self.finished, datetime.datetime):
            finished = self.finished.isoformat()
        else:
            finished = self.finished

        imported_at: None | str | Unset
        if isinstance(self.imported_at, Unset):
            imported_at = UNSET
        elif isinstance(self.imported_at, datetime.datetime):
            imported_at = self.imported_at.isoformat()
        else:
            imported_at = self.imported_at

        problem: None | str | Unset
        if isinstance(self.problem, Unset):
            problem = UNSET
        else:
            problem = self.problem

        result: None | str | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        else:
            result = self.result

        slot: None | str | Unset
        if isinstance(self.slot, Unset):
            slot = UNSET
        else:
            slot = self.slot

        started: None | str | Unset
        if isinstance(self.started, Unset):
            started = UNSET
        elif isinstance(self.started, datetime.datetime):
            started = self.started.isoformat()
        else:
            started = self.started

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "folder": folder,
                "source": source,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent
        if errors is not UNSET:
            field_dict["errors"] = errors
        if finished is not UNSET:
            field_dict["finished"] = finished
        if imported_at is not UNSET:
            field_dict["imported_at"] = imported_at
        if problem is not UNSET:
            field_dict["problem"] = problem
        if result is not UNSET:
            field_dict["result"] = result
        if slot is not UNSET:
            field_dict["slot"] = slot
        if started is not UNSET:
            field_dict["started"] = started

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        component = d.pop("component")

        folder = d.pop("folder")

        source = FolderSource(d.pop("source"))

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        errors = cast(list[str], d.pop("errors", UNSET))

        def _parse_finished(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_type_0 = datetime.datetime.fromisoformat(data)

                return finished_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished = _parse_finished(d.pop("finished", UNSET))

        def _parse_imported_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                imported_at_type_0 = datetime.datetime.fromisoformat(data)

                return imported_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        imported_at = _parse_imported_at(d.pop("imported_at", UNSET))

        def _parse_problem(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        problem = _parse_problem(d.pop("problem", UNSET))

        def _parse_result(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        def _parse_slot(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slot = _parse_slot(d.pop("slot", UNSET))

        def _parse_started(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_type_0 = datetime.datetime.fromisoformat(data)

                return started_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started = _parse_started(d.pop("started", UNSET))

        set_folder = cls(
            component=component,
            folder=folder,
            source=source,
            agent=agent,
            errors=errors,
            finished=finished,
            imported_at=imported_at,
            problem=problem,
            result=result,
            slot=slot,
            started=started,
        )

        set_folder.additional_properties = d
        return set_folder

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
