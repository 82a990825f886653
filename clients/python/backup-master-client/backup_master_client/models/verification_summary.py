from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.verification_status import VerificationStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="VerificationSummary")


@_attrs_define
class VerificationSummary:
    """The last verification of a set, as the set shows it.

    Attributes:
        id (str): The verification's ID (`/backup-sets/{id}/verifications/{verification_id}`).
        ok (bool): True when it passed.
        problems (int): Files changed, missing, unlisted or unreadable, plus folder errors.
        started_at (datetime.datetime):
        status (VerificationStatus): State of a verification job.
        finished_at (datetime.datetime | None | Unset):
    """

    id: str
    ok: bool
    problems: int
    started_at: datetime.datetime
    status: VerificationStatus
    finished_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        ok = self.ok

        problems = self.problems

        started_at = self.started_at.isoformat()

        status = self.status.value

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "ok": ok,
                "problems": problems,
                "started_at": started_at,
                "status": status,
            }
        )
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        ok = d.pop("ok")

        problems = d.pop("problems")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = VerificationStatus(d.pop("status"))

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

        verification_summary = cls(
            id=id,
            ok=ok,
            problems=problems,
            started_at=started_at,
            status=status,
            finished_at=finished_at,
        )

        verification_summary.additional_properties = d
        return verification_summary

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
