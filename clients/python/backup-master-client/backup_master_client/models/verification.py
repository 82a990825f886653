from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.verification_status import VerificationStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.folder_verification import FolderVerification


T = TypeVar("T", bound="Verification")


@_attrs_define
class Verification:
    """A verification job and, when finished, its result.

    Attributes:
        bytes_checked (int):
        files_checked (int): Files hashed so far (live while running).
        folders (list[FolderVerification]): One entry per folder of the set, once finished.
        id (str):  Example: 20261126T080000Z-0001.
        set_id (str):  Example: 20261126T020000Z.
        started_at (datetime.datetime):
        status (VerificationStatus): State of a verification job.
        error (None | str | Unset): Why the job itself failed or was interrupted.
        finished_at (datetime.datetime | None | Unset):
        missing_components (list[str] | Unset): Configured components the set had no folder for when the verification
            started.
    """

    bytes_checked: int
    files_checked: int
    folders: list[FolderVerification]
    id: str
    set_id: str
    started_at: datetime.datetime
    status: VerificationStatus
    error: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    missing_components: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_checked = self.bytes_checked

        files_checked = self.files_checked

        folders = []
        for folders_item_data in self.folders:
            folders_item = folders_item_data.to_dict()
            folders.append(folders_item)

        id = self.id

        set_id = self.set_id

        started_at = self.started_at.isoformat()

        status = self.status.value

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

        missing_components: list[str] | Unset = UNSET
        if not isinstance(self.missing_components, Unset):
            missing_components = self.missing_components

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes_checked": bytes_checked,
                "files_checked": files_checked,
                "folders": folders,
                "id": id,
                "set_id": set_id,
                "started_at": started_at,
                "status": status,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if missing_components is not UNSET:
            field_dict["missing_components"] = missing_components

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.folder_verification import FolderVerification  # noqa: PLC0415

        d = dict(src_dict)
        bytes_checked = d.pop("bytes_checked")

        files_checked = d.pop("files_checked")

        folders = []
        _folders = d.pop("folders")
        for folders_item_data in _folders:
            folders_item = FolderVerification.from_dict(folders_item_data)

            folders.append(folders_item)

        id = d.pop("id")

        set_id = d.pop("set_id")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = VerificationStatus(d.pop("status"))

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

        missing_components = cast(list[str], d.pop("missing_components", UNSET))

        verification = cls(
            bytes_checked=bytes_checked,
            files_checked=files_checked,
            folders=folders,
            id=id,
            set_id=set_id,
            started_at=started_at,
            status=status,
            error=error,
            finished_at=finished_at,
            missing_components=missing_components,
        )

        verification.additional_properties = d
        return verification

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
