from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..types import UNSET, Unset

T = TypeVar("T", bound="AuditEntry")


@_attrs_define
class AuditEntry:
    """One audited request.

    Attributes:
        method (str): The HTTP method. Example: POST.
        path (str): The path, without the query string. Example: /api/v1/backups.
        seq (int): Position in the log: one more than the line before, across rotations. Example: 42.
        status (int): The status of the answer. Example: 202.
        time (datetime.datetime): When the answer was known (UTC, always with 6 decimals, so times sort as text).
            Example: 2026-11-26T09:14:03.512034Z.
        job_id (None | str | Unset): The ID of what the request created (a backup, restore, verification, hook process,
            an
            imported set): the last segment of the answer's `Location`, else the body's `id` of a
            201 or 202; null when none. Example: 20261126T091403Z.
        remote_addr (None | str | Unset): The client's IP address as the connection shows it (no forwarded-for header is
            trusted). Example: 192.0.2.10.
        role (None | Role | Unset):
        token (None | str | Unset): The token's `name` from the config, else the first 8 hex digits of its SHA-256; null
            when the request had no valid token. Never the token. Example: ops-admin.
    """

    method: str
    path: str
    seq: int
    status: int
    time: datetime.datetime
    job_id: None | str | Unset = UNSET
    remote_addr: None | str | Unset = UNSET
    role: None | Role | Unset = UNSET
    token: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        method = self.method

        path = self.path

        seq = self.seq

        status = self.status

        time = self.time.isoformat()

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        remote_addr: None | str | Unset
        if isinstance(self.remote_addr, Unset):
            remote_addr = UNSET
        else:
            remote_addr = self.remote_addr

        role: None | str | Unset
        if isinstance(self.role, Unset):
            role = UNSET
        elif isinstance(self.role, Role):
            role = self.role.value
        else:
            role = self.role

        token: None | str | Unset
        if isinstance(self.token, Unset):
            token = UNSET
        else:
            token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "method": method,
                "path": path,
                "seq": seq,
                "status": status,
                "time": time,
            }
        )
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if remote_addr is not UNSET:
            field_dict["remote_addr"] = remote_addr
        if role is not UNSET:
            field_dict["role"] = role
        if token is not UNSET:
            field_dict["token"] = token

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        method = d.pop("method")

        path = d.pop("path")

        seq = d.pop("seq")

        status = d.pop("status")

        time = datetime.datetime.fromisoformat(d.pop("time"))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_remote_addr(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        remote_addr = _parse_remote_addr(d.pop("remote_addr", UNSET))

        def _parse_role(data: object) -> None | Role | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                role_type_1 = Role(data)

                return role_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Role | Unset, data)

        role = _parse_role(d.pop("role", UNSET))

        def _parse_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        token = _parse_token(d.pop("token", UNSET))

        audit_entry = cls(
            method=method,
            path=path,
            seq=seq,
            status=status,
            time=time,
            job_id=job_id,
            remote_addr=remote_addr,
            role=role,
            token=token,
        )

        audit_entry.additional_properties = d
        return audit_entry

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
