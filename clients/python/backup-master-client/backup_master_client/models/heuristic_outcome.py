from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision import Decision
from ..types import UNSET, Unset

T = TypeVar("T", bound="HeuristicOutcome")


@_attrs_define
class HeuristicOutcome:
    """A participant that an operator resolved by hand while the master was away, as the master's
    record reports it once it meets that participant again.

        Attributes:
            at (datetime.datetime): When the operator did it.
            component (str): Component name.
            decision (Decision): What a participant of a two-phase commit was told to do (or an operator did by hand).
            mismatch (bool): The operator's outcome differs from the master's decision: the components did not all
                end the same way (see the record's errors).
            outcome (Decision): What a participant of a two-phase commit was told to do (or an operator did by hand).
            agent (None | str | Unset): The agent's URL.
    """

    at: datetime.datetime
    component: str
    decision: Decision
    mismatch: bool
    outcome: Decision
    agent: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        component = self.component

        decision = self.decision.value

        mismatch = self.mismatch

        outcome = self.outcome.value

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "component": component,
                "decision": decision,
                "mismatch": mismatch,
                "outcome": outcome,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        component = d.pop("component")

        decision = Decision(d.pop("decision"))

        mismatch = d.pop("mismatch")

        outcome = Decision(d.pop("outcome"))

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        heuristic_outcome = cls(
            at=at,
            component=component,
            decision=decision,
            mismatch=mismatch,
            outcome=outcome,
            agent=agent,
        )

        heuristic_outcome.additional_properties = d
        return heuristic_outcome

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
