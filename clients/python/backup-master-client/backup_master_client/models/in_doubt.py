from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.txn_kind import TxnKind

T = TypeVar("T", bound="InDoubt")


@_attrs_define
class InDoubt:
    """A backup or restore of a remote component that is in doubt on its agent: it voted yes and
    heard nothing from the master for the agent's `decision_timeout_seconds`. It waits for the
    master's decision (the master resolves it from its records when it reaches the agent), or
    an operator's on that machine.

        Attributes:
            id (str): The backup ID, or the restore ID. Example: 20261126T020000Z.
            kind (TxnKind): Which kind of job a transaction of an agent belongs to.
            since (datetime.datetime): Since when it is in doubt.
    """

    id: str
    kind: TxnKind
    since: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        since = self.since.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "since": since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = TxnKind(d.pop("kind"))

        since = datetime.datetime.fromisoformat(d.pop("since"))

        in_doubt = cls(
            id=id,
            kind=kind,
            since=since,
        )

        in_doubt.additional_properties = d
        return in_doubt

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
