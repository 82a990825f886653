from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DrillRequest")


@_attrs_define
class DrillRequest:
    """`POST /drills`.

    Attributes:
        backup_id (None | str | Unset): The set to drill; absent: the newest successful complete set. Example:
            20261201T020000Z.
        components (list[str] | None | Unset): The components to drill (a remote one drills on its agent); absent: every
            configured
            component. Example: ['lui', 'hub'].
        keep_scratch (bool | Unset): Keep the scratch copies at the end (default false).
    """

    backup_id: None | str | Unset = UNSET
    components: list[str] | None | Unset = UNSET
    keep_scratch: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        backup_id: None | str | Unset
        if isinstance(self.backup_id, Unset):
            backup_id = UNSET
        else:
            backup_id = self.backup_id

        components: list[str] | None | Unset
        if isinstance(self.components, Unset):
            components = UNSET
        elif isinstance(self.components, list):
            components = self.components

        else:
            components = self.components

        keep_scratch = self.keep_scratch

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if backup_id is not UNSET:
            field_dict["backup_id"] = backup_id
        if components is not UNSET:
            field_dict["components"] = components
        if keep_scratch is not UNSET:
            field_dict["keep_scratch"] = keep_scratch

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

        def _parse_components(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                components_type_0 = cast(list[str], data)

                return components_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        components = _parse_components(d.pop("components", UNSET))

        keep_scratch = d.pop("keep_scratch", UNSET)

        drill_request = cls(
            backup_id=backup_id,
            components=components,
            keep_scratch=keep_scratch,
        )

        return drill_request
