from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ReplicateRequest")


@_attrs_define
class ReplicateRequest:
    """The body of `POST /replication-targets/{name}/replicate`.

    Attributes:
        backup_id (None | str | Unset): The backup set to copy; absent: the newest complete and successful one. Example:
            20261126T020000Z.
    """

    backup_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        backup_id: None | str | Unset
        if isinstance(self.backup_id, Unset):
            backup_id = UNSET
        else:
            backup_id = self.backup_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if backup_id is not UNSET:
            field_dict["backup_id"] = backup_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_backup_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        backup_id = _parse_backup_id(d.pop("backup_id", UNSET))

        replicate_request = cls(
            backup_id=backup_id,
        )

        return replicate_request
