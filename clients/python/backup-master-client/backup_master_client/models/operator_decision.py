from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision import Decision

T = TypeVar("T", bound="OperatorDecision")


@_attrs_define
class OperatorDecision:
    """A decision an operator carried out on an agent's machine (`backup-master agent resolve`)
    instead of the master: a heuristic outcome.

        Attributes:
            at (datetime.datetime):
            decision (Decision): What a participant of a two-phase commit was told to do (or an operator did by hand).
    """

    at: datetime.datetime
    decision: Decision
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        decision = self.decision.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "decision": decision,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        decision = Decision(d.pop("decision"))

        operator_decision = cls(
            at=at,
            decision=decision,
        )

        operator_decision.additional_properties = d
        return operator_decision

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
