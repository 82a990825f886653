from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RemoteVerifyRequest")


@_attrs_define
class RemoteVerifyRequest:
    """The body of `POST /replication-targets/{name}/sets/{id}/verify`.

    Attributes:
        deep (bool | Unset): Download and hash every blob; default false: every blob exists with its size.
    """

    deep: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        deep = self.deep

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if deep is not UNSET:
            field_dict["deep"] = deep

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        deep = d.pop("deep", UNSET)

        remote_verify_request = cls(
            deep=deep,
        )

        return remote_verify_request
