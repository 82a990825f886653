from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.entry_kind import EntryKind

T = TypeVar("T", bound="CopyOp")


@_attrs_define
class CopyOp:
    """One copy out of the backup folder into the home (a file, or a folder with all it holds).

    Attributes:
        from_ (str):  Example: /srv/lui/backup/luidata.
        kind (EntryKind): What a path in a backup folder is.
        to (str):  Example: /srv/lui/luidata.
    """

    from_: str
    kind: EntryKind
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from_ = self.from_

        kind = self.kind.value

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "from": from_,
                "kind": kind,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        from_ = d.pop("from")

        kind = EntryKind(d.pop("kind"))

        to = d.pop("to")

        copy_op = cls(
            from_=from_,
            kind=kind,
            to=to,
        )

        copy_op.additional_properties = d
        return copy_op

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
